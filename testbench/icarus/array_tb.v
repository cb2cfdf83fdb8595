// Icarus Verilog testbench of the generated systolic array, for `bench`'s
// side-by-side speed figure (testbench::icarus). Written by hand, not generated:
// the design under test is the generated Verilog, compiled next to this file.
//
// It plays the same driver as the Rust one at full traffic: operand beats are
// offered back to back (held until taken), out_ready is held high, inputs change
// with the clock low and outputs are sampled before the rising edge. Every taken
// result row is written to the results file as `<out_last> <out_c>` in hex; the
// Rust side compares them bit-exactly with the golden model.
//
// iverilog -DDUT=<top> -Parray_tb.ROWS=.. -Parray_tb.COLS=.. -Parray_tb.BEATS=..
//          -Parray_tb.TILES=..
// vvp ... +stimulus=<file> +results=<file>
// The stimulus file holds one beat per line: {in_last, in_b, in_a} in hex.

`timescale 1ns / 1ps
`default_nettype none

module array_tb;

parameter ROWS = 4;
parameter COLS = 4;
parameter BEATS = 1;                         // beats in the stimulus file
parameter TILES = 1;                         // tiles they form (beats with in_last)

localparam A_BITS = 8 * ROWS;
localparam B_BITS = 8 * COLS;
localparam C_BITS = 32 * COLS;
localparam BEAT_BITS = 1 + B_BITS + A_BITS;

// Clock and reset
reg  clk;
reg  rst;

// Operand stream
reg  in_valid;
wire in_ready;
reg  [A_BITS-1:0] in_a;
reg  [B_BITS-1:0] in_b;
reg  in_last;

// Result stream
wire out_valid;
reg  out_ready;
wire [C_BITS-1:0] out_c;
wire out_last;

`DUT dut (
    .clk(clk),
    .rst(rst),
    .in_valid(in_valid),
    .in_ready(in_ready),
    .in_a(in_a),
    .in_b(in_b),
    .in_last(in_last),
    .out_valid(out_valid),
    .out_ready(out_ready),
    .out_c(out_c),
    .out_last(out_last)
);

reg  [BEAT_BITS-1:0] beats [0:BEATS-1];
reg  [1023:0] stimulus_path;
reg  [1023:0] results_path;
integer fd;
integer beat;
integer rows_out;
integer cycle;
integer first;                               // cycle of the first offered beat
integer last;                                // cycle after the edge that took the last row
reg  in_fire;

initial begin
    if (!$value$plusargs("stimulus=%s", stimulus_path)) begin
        $display("array_tb: missing +stimulus=<file>");
        $finish;
    end
    if (!$value$plusargs("results=%s", results_path)) begin
        $display("array_tb: missing +results=<file>");
        $finish;
    end
    $readmemh(stimulus_path, beats);
    fd = $fopen(results_path, "w");
    if (fd == 0) begin
        $display("array_tb: cannot open the results file");
        $finish;
    end

    clk = 1'b0;
    rst = 1'b1;
    in_valid = 1'b0;
    in_a = {A_BITS{1'b0}};
    in_b = {B_BITS{1'b0}};
    in_last = 1'b0;
    out_ready = 1'b0;
    repeat (3) begin
        #1 clk = 1'b1;
        #1 clk = 1'b0;
    end
    rst = 1'b0;
    out_ready = 1'b1;

    // The Rust side times the simulation from this line to `done`.
    $display("array_tb: start");
    $fflush;
    beat = 0;
    rows_out = 0;
    cycle = 0;
    first = 0;
    last = 0;
    while (rows_out < TILES * ROWS) begin
        in_valid = beat < BEATS;
        if (beat < BEATS)
            {in_last, in_b, in_a} = beats[beat];
        #1;
        in_fire = in_valid & in_ready;
        if (out_valid) begin
            $fwrite(fd, "%h %h\n", out_last, out_c);
            rows_out = rows_out + 1;
            last = cycle + 1;
        end
        clk = 1'b1;
        #1 clk = 1'b0;
        if (in_fire)
            beat = beat + 1;
        cycle = cycle + 1;
    end
    $fclose(fd);
    $display("array_tb: done cycles=%0d", last - first);
    $fflush;
    $finish;
end

endmodule
