// Simulation model of the iCE40 UltraPlus single-port RAM SB_SPRAM256KA
// (16K x 16 bits), after the yosys ice40 cell library: a selected clock edge
// reads ADDRESS into DATAOUT (WREN low) or writes the nibbles MASKWREN enables
// (WREN high); DATAOUT holds while the RAM is not selected. The low-power
// inputs (STANDBY, SLEEP, POWEROFF low) are not modelled: the generator ties
// them off, and the model stops the simulation if they are used.
module SB_SPRAM256KA (
    input  wire [13:0] ADDRESS,
    input  wire [15:0] DATAIN,
    input  wire [3:0]  MASKWREN,
    input  wire        WREN,
    input  wire        CHIPSELECT,
    input  wire        CLOCK,
    input  wire        STANDBY,
    input  wire        SLEEP,
    input  wire        POWEROFF,
    output reg  [15:0] DATAOUT
);
    reg [15:0] mem [0:16383];
    always @(posedge CLOCK) begin
        if (STANDBY || SLEEP || !POWEROFF) begin
            $display("SB_SPRAM256KA model: low-power modes are not modelled");
            $stop;
        end else if (CHIPSELECT) begin
            if (!WREN) begin
                DATAOUT <= mem[ADDRESS];
            end else begin
                if (MASKWREN[0]) mem[ADDRESS][3:0] <= DATAIN[3:0];
                if (MASKWREN[1]) mem[ADDRESS][7:4] <= DATAIN[7:4];
                if (MASKWREN[2]) mem[ADDRESS][11:8] <= DATAIN[11:8];
                if (MASKWREN[3]) mem[ADDRESS][15:12] <= DATAIN[15:12];
            end
        end
    end
endmodule
