`default_nettype none
// Skid buffer: a full-throughput AXI4-Stream register stage whose s_axis_tready is a register
// (breaks the combinational ready path). Two entries: the output register and one skid slot.
module skid #(
  parameter integer W = 8
) (
  input  wire         clk,
  input  wire         rst_n,
  input  wire [W-1:0] s_axis_tdata,
  input  wire         s_axis_tvalid,
  output wire         s_axis_tready,
  output wire [W-1:0] m_axis_tdata,
  output wire         m_axis_tvalid,
  input  wire         m_axis_tready
);
  reg [W-1:0] data_q, skid_q;
  reg valid_q, skid_valid_q;
  assign s_axis_tready = !skid_valid_q;
  assign m_axis_tdata = data_q;
  assign m_axis_tvalid = valid_q;
  wire push = s_axis_tvalid && !skid_valid_q;
  wire out_free = !valid_q || m_axis_tready;

  always @(posedge clk) begin
    if (out_free) data_q <= skid_valid_q ? skid_q : s_axis_tdata;
    if (push && !out_free) skid_q <= s_axis_tdata;
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      valid_q <= 1'b0;
      skid_valid_q <= 1'b0;
    end else begin
      if (out_free) valid_q <= skid_valid_q || push;
      if (out_free) skid_valid_q <= 1'b0;
      else if (push) skid_valid_q <= 1'b1;
    end
  end
endmodule
`default_nettype wire
