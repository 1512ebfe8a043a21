`default_nettype none
// Output stage of a stream module: loads a word of BEATS beats (beat b at [b*W +: W]) and emits it
// one beat per cycle, beat 0 first, under back-pressure. s_axis_tready = empty, or the last beat
// leaving this cycle (combinational from m_axis_tready), so a module loading one word per beat runs
// at full throughput with no bubble. BEATS = 1 is the plain output register of the element-wise
// modules: s_axis_tready = !m_axis_tvalid || m_axis_tready.
module out_reg #(
  parameter integer W = 8,
  parameter integer BEATS = 1
) (
  input  wire               clk,
  input  wire               rst_n,
  input  wire [BEATS*W-1:0] s_axis_tdata,
  input  wire               s_axis_tvalid,
  output wire               s_axis_tready,
  output wire [W-1:0]       m_axis_tdata,
  output wire               m_axis_tvalid,
  input  wire               m_axis_tready
);
  localparam integer LW = $clog2(BEATS + 1); // 0..BEATS beats left to send
  localparam integer ONE_I = 1;
  localparam [LW-1:0] ONE = ONE_I[LW-1:0];

  reg [BEATS*W-1:0] data_q;
  reg [LW-1:0] left_q;
  wire empty = left_q == {LW{1'b0}};
  // With a beat in the register: it is its word's last (always so for BEATS = 1; written out so
  // synthesis sees the plain empty || m_axis_tready, which maps smaller).
  wire last_left = BEATS == 1 || left_q == ONE;
  assign s_axis_tready = empty || (last_left && m_axis_tready);
  wire pop = !empty && m_axis_tready;
  wire load = s_axis_tvalid && s_axis_tready;

  always @(posedge clk) begin
    if (load) data_q <= s_axis_tdata;
    else if (pop && BEATS > 1) data_q <= data_q >> W;
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      left_q <= {LW{1'b0}};
    end else begin
      if (load) left_q <= BEATS[LW-1:0];
      else if (pop) left_q <= left_q - 1'b1;
    end
  end

  assign m_axis_tdata = data_q[W-1:0];
  assign m_axis_tvalid = !empty;
endmodule
`default_nettype wire
