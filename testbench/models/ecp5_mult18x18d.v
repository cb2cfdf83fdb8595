// Simulation model of the Lattice ECP5 MULT18X18D, the subset the array uses:
// 18x18 signed or unsigned multiply with optional input (A, B) and output
// registers on CLK0, each with its own clock enable (CE0 or CE1) and synchronous
// reset (RST0), no pipeline register, products P0..P15 only.
//
// Written for this project's tests from the primitive's documented behaviour
// (Lattice TN1267, the ECP5 sysDSP usage guide; parameter names and defaults from
// yosys techlibs/ecp5/cells_bb.v). Neither yosys nor nextpnr ships a simulation
// model of this cell. Any parameter value outside the subset stops simulation at
// time zero instead of being silently misread.

/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
`default_nettype none

module MULT18X18D #(
    parameter REG_INPUTA_CLK = "NONE",
    parameter REG_INPUTA_CE = "CE0",
    parameter REG_INPUTA_RST = "RST0",
    parameter REG_INPUTB_CLK = "NONE",
    parameter REG_INPUTB_CE = "CE0",
    parameter REG_INPUTB_RST = "RST0",
    parameter REG_PIPELINE_CLK = "NONE",
    parameter REG_OUTPUT_CLK = "NONE",
    parameter REG_OUTPUT_CE = "CE0",
    parameter REG_OUTPUT_RST = "RST0",
    parameter GSR = "ENABLED",
    parameter RESETMODE = "SYNC",
    parameter MULT_BYPASS = "DISABLED"
) (
    input  wire A0,
    input  wire A1,
    input  wire A2,
    input  wire A3,
    input  wire A4,
    input  wire A5,
    input  wire A6,
    input  wire A7,
    input  wire A8,
    input  wire A9,
    input  wire A10,
    input  wire A11,
    input  wire A12,
    input  wire A13,
    input  wire A14,
    input  wire A15,
    input  wire A16,
    input  wire A17,
    input  wire B0,
    input  wire B1,
    input  wire B2,
    input  wire B3,
    input  wire B4,
    input  wire B5,
    input  wire B6,
    input  wire B7,
    input  wire B8,
    input  wire B9,
    input  wire B10,
    input  wire B11,
    input  wire B12,
    input  wire B13,
    input  wire B14,
    input  wire B15,
    input  wire B16,
    input  wire B17,
    input  wire C0,
    input  wire C1,
    input  wire C2,
    input  wire C3,
    input  wire C4,
    input  wire C5,
    input  wire C6,
    input  wire C7,
    input  wire C8,
    input  wire C9,
    input  wire C10,
    input  wire C11,
    input  wire C12,
    input  wire C13,
    input  wire C14,
    input  wire C15,
    input  wire C16,
    input  wire C17,
    input  wire SIGNEDA,
    input  wire SIGNEDB,
    input  wire SOURCEA,
    input  wire SOURCEB,
    input  wire CLK0,
    input  wire CE0,
    input  wire CE1,
    input  wire RST0,
    output wire P0,
    output wire P1,
    output wire P2,
    output wire P3,
    output wire P4,
    output wire P5,
    output wire P6,
    output wire P7,
    output wire P8,
    output wire P9,
    output wire P10,
    output wire P11,
    output wire P12,
    output wire P13,
    output wire P14,
    output wire P15
);

    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};

    // The subset: CLK0 or no register, CE0/CE1, RST0, synchronous reset, no
    // pipeline register, multiplier not bypassed.
    initial begin
        if ((REG_INPUTA_CLK != "NONE" && REG_INPUTA_CLK != "CLK0")
            || (REG_INPUTB_CLK != "NONE" && REG_INPUTB_CLK != "CLK0")
            || (REG_OUTPUT_CLK != "NONE" && REG_OUTPUT_CLK != "CLK0")
            || REG_PIPELINE_CLK != "NONE"
            || (REG_INPUTA_CE != "CE0" && REG_INPUTA_CE != "CE1")
            || (REG_INPUTB_CE != "CE0" && REG_INPUTB_CE != "CE1")
            || (REG_OUTPUT_CE != "CE0" && REG_OUTPUT_CE != "CE1")
            || REG_INPUTA_RST != "RST0" || REG_INPUTB_RST != "RST0"
            || REG_OUTPUT_RST != "RST0" || RESETMODE != "SYNC"
            || MULT_BYPASS != "DISABLED") begin
            $display("MULT18X18D model: parameter outside the modelled subset");
            $finish;
        end
    end

    wire ce_a = (REG_INPUTA_CE == "CE1") ? CE1 : CE0;
    wire ce_b = (REG_INPUTB_CE == "CE1") ? CE1 : CE0;
    wire ce_p = (REG_OUTPUT_CE == "CE1") ? CE1 : CE0;

    reg [17:0] a_reg;
    reg [17:0] b_reg;
    always @(posedge CLK0) begin
        if (RST0) begin
            a_reg <= 18'd0;
            b_reg <= 18'd0;
        end else begin
            if (ce_a) a_reg <= a;
            if (ce_b) b_reg <= b;
        end
    end
    wire [17:0] a_m = (REG_INPUTA_CLK == "CLK0") ? a_reg : a;
    wire [17:0] b_m = (REG_INPUTB_CLK == "CLK0") ? b_reg : b;

    // Sign- or zero-extend each operand to 36 bits; the low 36 bits of the
    // product are the same either way once both operands are extended.
    wire [35:0] a_x = {{18{SIGNEDA & a_m[17]}}, a_m};
    wire [35:0] b_x = {{18{SIGNEDB & b_m[17]}}, b_m};
    wire [35:0] prod = a_x * b_x;

    reg [15:0] p_reg;
    always @(posedge CLK0) begin
        if (RST0) p_reg <= 16'd0;
        else if (ce_p) p_reg <= prod[15:0];
    end
    wire [15:0] p = (REG_OUTPUT_CLK == "CLK0") ? p_reg : prod[15:0];
    assign P0 = p[0];
    assign P1 = p[1];
    assign P2 = p[2];
    assign P3 = p[3];
    assign P4 = p[4];
    assign P5 = p[5];
    assign P6 = p[6];
    assign P7 = p[7];
    assign P8 = p[8];
    assign P9 = p[9];
    assign P10 = p[10];
    assign P11 = p[11];
    assign P12 = p[12];
    assign P13 = p[13];
    assign P14 = p[14];
    assign P15 = p[15];
endmodule

/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on DECLFILENAME */
`default_nettype wire
