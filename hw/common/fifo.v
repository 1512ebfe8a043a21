`default_nettype none
// Synchronous AXI4-Stream FIFO of DEPTH (a power of two >= 2) W-bit beats, first-word fall-through.
module fifo #(
  parameter integer W = 8,
  parameter integer DEPTH = 4
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
  localparam integer AW = $clog2(DEPTH);
  reg [W-1:0] mem_q [0:DEPTH-1];
  reg [AW:0] wr_q, rd_q;  // one extra bit tells full from empty
  wire empty = wr_q == rd_q;
  wire full = wr_q == {~rd_q[AW], rd_q[AW-1:0]};
  assign s_axis_tready = !full;
  assign m_axis_tvalid = !empty;
  assign m_axis_tdata = mem_q[rd_q[AW-1:0]];
  wire push = s_axis_tvalid && !full;
  wire pop = m_axis_tready && !empty;

  always @(posedge clk) begin
    if (push) mem_q[wr_q[AW-1:0]] <= s_axis_tdata;
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      wr_q <= {(AW + 1){1'b0}};
      rd_q <= {(AW + 1){1'b0}};
    end else begin
      if (push) wr_q <= wr_q + 1'b1;
      if (pop) rd_q <= rd_q + 1'b1;
    end
  end
endmodule
`default_nettype wire
