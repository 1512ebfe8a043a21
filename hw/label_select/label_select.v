`default_nettype none
// LabelSelect: indices of the K largest of N inputs, largest first, ties to the lowest index.
// Takes PE inputs per beat and inserts them, in index order, into a sorted top-K list (a new
// element goes before the first entry it is strictly larger than, so equal values keep the lower
// index first). After the last beat the list moves to an output buffer (common/out_reg.v, K beats)
// that emits one index per beat while the next inference streams in: max(N/PE, K) cycles per inference.
// Codes (IN_KIND): 0 unsigned, 1 signed, 2 bipolar (1 = +1, 0 = -1).
module label_select #(
  parameter integer N = 10,
  parameter integer K = 1,
  parameter integer PE = 1,
  parameter integer WI = 8,
  parameter integer IN_KIND = 1,
  parameter integer OUT_W = 4
) (
  input  wire             clk,
  input  wire             rst_n,
  input  wire [PE*WI-1:0] s_axis_tdata,
  input  wire             s_axis_tvalid,
  output wire             s_axis_tready,
  output wire [OUT_W-1:0] m_axis_tdata,
  output wire             m_axis_tvalid,
  input  wire             m_axis_tready
);
  localparam integer BEATS = N / PE;
  localparam integer BW = BEATS > 1 ? $clog2(BEATS) : 1;
  localparam [BW-1:0] B_LAST = BEATS[BW-1:0] - 1'b1;
  localparam integer VW = WI + 1;          // values, sign-extended

  reg [BW-1:0] beat_q;
  reg [K*VW-1:0] val_q;
  reg [K*OUT_W-1:0] idx_q;
  reg [K-1:0] used_q;

  wire last_beat = beat_q == B_LAST;
  wire obuf_free;
  assign s_axis_tready = !last_beat || obuf_free;
  wire take = s_axis_tvalid && s_axis_tready;

  // The list after inserting this beat's elements (starting empty on the first beat).
  reg [K*VW-1:0] nval;
  reg [K*OUT_W-1:0] nidx;
  reg [K-1:0] nused;
  reg [VW-1:0] v;
  reg [K-1:0] beats;
  reg [WI-1:0] code;
  integer e, j;
  /* verilator lint_off UNUSEDSIGNAL */ // an element index fits OUT_W bits; the integer's top bits stay unused
  integer index;
  /* verilator lint_on UNUSEDSIGNAL */
  always @* begin
    nval = val_q;
    nidx = idx_q;
    nused = beat_q == {BW{1'b0}} ? {K{1'b0}} : used_q;
    for (e = 0; e < PE; e = e + 1) begin
      code = s_axis_tdata[e*WI +: WI];
      if (IN_KIND == 2) v = {{(VW - 1){~code[0]}}, 1'b1};
      else if (IN_KIND == 1) v = {code[WI-1], code};
      else v = {1'b0, code};
      index = {{(32 - BW){1'b0}}, beat_q} * PE + e;
      for (j = 0; j < K; j = j + 1) beats[j] = !nused[j] || $signed(v) > $signed(nval[j*VW +: VW]);
      // Walk from the bottom: entry j takes the new element, or shifts down from j-1, or stays.
      for (j = K - 1; j >= 0; j = j - 1) begin
        if (beats[j]) begin
          if (j == 0 || !beats[j == 0 ? 0 : j - 1]) begin
            nval[j*VW +: VW] = v;
            nidx[j*OUT_W +: OUT_W] = index[OUT_W-1:0];
            nused[j] = 1'b1;
          end else begin
            // (j == 0 never gets here; the guard keeps tools from seeing index -1 when unrolling)
            nval[j*VW +: VW] = nval[(j == 0 ? 0 : j - 1)*VW +: VW];
            nidx[j*OUT_W +: OUT_W] = nidx[(j == 0 ? 0 : j - 1)*OUT_W +: OUT_W];
            nused[j] = nused[j == 0 ? 0 : j - 1];
          end
        end
      end
    end
  end

  always @(posedge clk) begin
    if (take) begin
      val_q <= nval;
      idx_q <= nidx;
      used_q <= nused;
    end
  end

  always @(posedge clk) begin
    if (!rst_n) beat_q <= {BW{1'b0}};
    else if (take) beat_q <= last_beat ? {BW{1'b0}} : beat_q + 1'b1;
  end

  out_reg #(.W(OUT_W), .BEATS(K)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(nidx), .s_axis_tvalid(s_axis_tvalid && last_beat), .s_axis_tready(obuf_free),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );
endmodule
`default_nettype wire
