`default_nettype none
// Stream width converter: IN_FOLD elements per input beat to OUT_FOLD elements per output beat
// (EW bits each, element 0 in the LSBs, order preserved). A buffer of CAP = 2*(IN_FOLD + OUT_FOLD)
// elements accepts a beat whenever it has room for one (a registered decision, no combinational
// path from m_axis_tready) and emits whenever OUT_FOLD elements wait. That CAP keeps the faster
// side from ever waiting on the slower one (count stays below OUT_FOLD + 2*IN_FOLD when input-bound;
// refills arrive before the output starves when output-bound): max(beats in, beats out) cycles
// per inference.
module dwc #(
  parameter integer IN_FOLD = 1,
  parameter integer OUT_FOLD = 4,
  parameter integer EW = 8
) (
  input  wire                   clk,
  input  wire                   rst_n,
  input  wire [IN_FOLD*EW-1:0]  s_axis_tdata,
  input  wire                   s_axis_tvalid,
  output wire                   s_axis_tready,
  output wire [OUT_FOLD*EW-1:0] m_axis_tdata,
  output wire                   m_axis_tvalid,
  input  wire                   m_axis_tready
);
  localparam integer CAP = 2 * (IN_FOLD + OUT_FOLD);
  localparam integer CW = $clog2(CAP + 1);
  localparam [CW-1:0] IN_N = IN_FOLD[CW-1:0];
  localparam [CW-1:0] ROOM = CAP[CW-1:0] - IN_N;
  localparam [CW-1:0] OUT_N = OUT_FOLD[CW-1:0];

  reg [CAP*EW-1:0] buf_q;
  reg [CW-1:0] count_q;
  assign s_axis_tready = count_q <= ROOM;
  assign m_axis_tvalid = count_q >= OUT_N;
  assign m_axis_tdata = buf_q[OUT_FOLD*EW-1:0];
  wire push = s_axis_tvalid && s_axis_tready;
  wire pop = m_axis_tvalid && m_axis_tready;

  // Elements at and above count_q are don't-care and need no mask: every element below count_q was
  // written by a push since the count was last zero, a push writing just above the kept ones. The
  // buffer changes in the clocked block only (a part-select write, a shift), so the simulator
  // touches it only in cycles that move a beat.
  wire [CW-1:0] kept = pop ? count_q - OUT_N : count_q;

  always @(posedge clk) begin
    if (pop) buf_q <= buf_q >> (OUT_FOLD * EW);
    if (push) buf_q[kept * EW +: IN_FOLD * EW] <= s_axis_tdata;
  end

  always @(posedge clk) begin
    if (!rst_n) count_q <= {CW{1'b0}};
    else count_q <= kept + (push ? IN_N : {CW{1'b0}});
  end
endmodule
`default_nettype wire
