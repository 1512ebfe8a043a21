`default_nettype none
// Stream duplication (FINN DuplicateStreams) for branches, e.g. the bypass of a residual block:
// every input beat goes to both outputs. Each output has its own register, so one branch may take
// its copy before the other; a new beat is taken once both copies of the previous one are gone (or
// leave this cycle). Full throughput (one beat per cycle) when both consumers are ready.
module duplicate #(
  parameter integer W = 8
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] s_axis_tdata,
  input  wire         s_axis_tvalid,
  output wire         s_axis_tready,
  output wire [W-1:0] m0_axis_tdata,
  output wire         m0_axis_tvalid,
  input  wire         m0_axis_tready,
  output wire [W-1:0] m1_axis_tdata,
  output wire         m1_axis_tvalid,
  input  wire         m1_axis_tready
);
  reg [W-1:0] data_q;
  reg valid0_q, valid1_q;
  wire free0 = !valid0_q || m0_axis_tready;
  wire free1 = !valid1_q || m1_axis_tready;
  assign s_axis_tready = free0 && free1;
  wire take = s_axis_tvalid && s_axis_tready;

  always @(posedge clk) begin
    if (take) data_q <= s_axis_tdata;
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      valid0_q <= 1'b0;
      valid1_q <= 1'b0;
    end else begin
      if (take) valid0_q <= 1'b1;
      else if (m0_axis_tready) valid0_q <= 1'b0;
      if (take) valid1_q <= 1'b1;
      else if (m1_axis_tready) valid1_q <= 1'b0;
    end
  end
  assign m0_axis_tdata = data_q;
  assign m0_axis_tvalid = valid0_q;
  assign m1_axis_tdata = data_q;
  assign m1_axis_tvalid = valid1_q;
endmodule
`default_nettype wire
