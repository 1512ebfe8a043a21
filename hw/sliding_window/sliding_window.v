`default_nettype none
// Sliding-window generator (FINN ConvolutionInputGenerator). Input: an IH x IW image, C channels,
// NHWC order, PE channels per beat (CF = C/PE beats per pixel). Output: for each output pixel
// (oy, ox), for each tap (ky, kx), the CF beats of input pixel (oy*SH + ky*DH, ox*SW + kx*DW).
//
// Storage: a circular buffer of DEPTH (a power of two) beats; input beat i of image n lives at
// address (n*IMG + i) mod DEPTH. The writer takes one beat per cycle while the slot it would
// overwrite is no longer needed (its index is below base + DEPTH, base = the first input beat of
// the current output pixel's window, the smallest index any later window needs). The reader emits
// one beat per cycle once the beat it needs has been written (index < written count). The last beat
// of an image waits until the writer has finished that image, so the writer is at most one image
// ahead (ahead_q). With DEPTH a few lines deep (src/layers/sliding-window.ts) neither side waits on
// the other in steady state: max(IMG, output beats) cycles per image.
// Memory read is synchronous into the output register (common/out_reg.v; block-RAM style, Yosys
// merges it into the read port): first beat 2 cycles after input beat 0 arrives.
// TAPS = KH*KW (parallel window, needs PE = C): a whole window per output beat, tap t at bits
// [t*PE*EW +: PE*EW], read through TAPS read ports at constant offsets from the window's base; the
// window is emitted once its last tap has been written. TAPS = 1: one tap's PE channels per beat.
module sliding_window #(
  parameter integer IH = 4,
  parameter integer IW = 4,
  parameter integer C = 1,
  parameter integer PE = 1,
  parameter integer KH = 3,
  parameter integer KW = 3,
  parameter integer SH = 1,
  parameter integer SW = 1,
  parameter integer DH = 1,
  parameter integer DW = 1,
  parameter integer OH = 2,
  parameter integer OW = 2,
  parameter integer EW = 8,
  parameter integer DEPTH = 64,
  parameter integer TAPS = 1
) (
  input  wire               clk,
  input  wire               rst_n,
  input  wire [PE*EW-1:0]   s_axis_tdata,
  input  wire               s_axis_tvalid,
  output wire               s_axis_tready,
  output wire [TAPS*PE*EW-1:0] m_axis_tdata,
  output wire               m_axis_tvalid,
  input  wire               m_axis_tready
);
  localparam integer CF = C / PE;
  localparam integer IMG = IH * IW * CF;
  localparam integer AW = $clog2(DEPTH);
  // Index arithmetic reaches 2*IMG + DEPTH.
  localparam integer XW = $clog2(2 * IMG + DEPTH + 1);
  localparam integer CFW = CF > 1 ? $clog2(CF) : 1;
  // Tap counters run over the kernel one tap per beat, or not at all in parallel-window mode.
  localparam integer KWC = TAPS > 1 ? 1 : KW;
  localparam integer KHC = TAPS > 1 ? 1 : KH;
  localparam integer KXW = KWC > 1 ? $clog2(KWC) : 1;
  localparam integer KYW = KHC > 1 ? $clog2(KHC) : 1;
  localparam integer OXW = OW > 1 ? $clog2(OW) : 1;
  localparam integer OYW = OH > 1 ? $clog2(OH) : 1;
  localparam [CFW-1:0] CF_LAST = CF[CFW-1:0] - 1'b1;
  localparam [KXW-1:0] KX_LAST = KWC[KXW-1:0] - 1'b1;
  localparam [KYW-1:0] KY_LAST = KHC[KYW-1:0] - 1'b1;
  localparam [OXW-1:0] OX_LAST = OW[OXW-1:0] - 1'b1;
  localparam [OYW-1:0] OY_LAST = OH[OYW-1:0] - 1'b1;
  // Offset steps within a window (from the last beat of a tap / tap row to the next) and base
  // steps between output pixels; all positive because the dilated kernel fits in the image.
  localparam integer KX_INC = DW * CF - (CF - 1);
  localparam integer KY_INC = DH * IW * CF - (KW - 1) * DW * CF - (CF - 1);
  localparam integer OX_INC = SW * CF;
  localparam integer OY_INC = SH * IW * CF - (OW - 1) * SW * CF;
  localparam [XW-1:0] KX_INC_X = KX_INC[XW-1:0];
  localparam [XW-1:0] KY_INC_X = KY_INC[XW-1:0];
  localparam [XW-1:0] OX_INC_X = OX_INC[XW-1:0];
  localparam [XW-1:0] OY_INC_X = OY_INC[XW-1:0];
  localparam [XW-1:0] IMG_X = IMG[XW-1:0];
  localparam [XW-1:0] IMG_LAST_X = IMG_X - 1'b1;
  localparam [XW-1:0] DEPTH_X = DEPTH[XW-1:0];
  localparam integer IMG_MOD = IMG % DEPTH;
  localparam [AW-1:0] IMG_A = IMG_MOD[AW-1:0];
  // Parallel window: the last tap's offset from the window base (what must be written first).
  localparam integer OFF_LAST = ((KH - 1) * DH * IW + (KW - 1) * DW) * CF;
  localparam [XW-1:0] OFF_LAST_X = OFF_LAST[XW-1:0];

  reg [PE*EW-1:0] mem_q [0:DEPTH-1];

  // ---- writer ----
  reg [XW-1:0] wr_idx_q;   // beats written of the writer's image
  reg [AW-1:0] wr_addr_q;
  reg ahead_q;             // the writer has finished the reader's image and works on the next
  reg [XW-1:0] base_q;     // first input beat of the current window (reader's image)
  wire wr_last = wr_idx_q == IMG_LAST_X;
  wire [XW-1:0] limit = base_q + DEPTH_X;
  wire room = ahead_q ? (IMG_X + wr_idx_q < limit) && !wr_last : wr_idx_q < limit;
  assign s_axis_tready = room;
  wire push = s_axis_tvalid && room;

  always @(posedge clk) begin
    if (push) mem_q[wr_addr_q] <= s_axis_tdata;
  end

  // ---- reader ----
  reg [CFW-1:0] cf_q;
  reg [KXW-1:0] kx_q;
  reg [KYW-1:0] ky_q;
  reg [OXW-1:0] ox_q;
  reg [OYW-1:0] oy_q;
  reg [XW-1:0] off_q;      // offset of the needed beat from base_q
  reg [AW-1:0] img_addr_q; // address of the reader's image's beat 0
  wire [TAPS*PE*EW-1:0] rd_data; // the needed beat (or window), into the output register

  wire cf_end = cf_q == CF_LAST;
  wire kx_end = cf_end && kx_q == KX_LAST;
  wire ky_end = kx_end && ky_q == KY_LAST;
  wire ox_end = ky_end && ox_q == OX_LAST;
  wire img_end = ox_end && oy_q == OY_LAST;
  wire [XW-1:0] need = base_q + (TAPS > 1 ? OFF_LAST_X : off_q);
  wire available = img_end ? ahead_q : (ahead_q || wr_idx_q > need);
  wire out_free;
  wire fire = available && out_free;

  out_reg #(.W(TAPS*PE*EW)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(rd_data), .s_axis_tvalid(available), .s_axis_tready(out_free),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  genvar t;
  generate
    if (TAPS == 1) begin : g_tap
      wire [AW-1:0] rd_addr = img_addr_q + base_q[AW-1:0] + off_q[AW-1:0];
      assign rd_data = mem_q[rd_addr];
    end else begin : g_window
      for (t = 0; t < TAPS; t = t + 1) begin : g_taps
        localparam integer OFF = ((t / KW) * DH * IW + (t % KW) * DW) * CF;
        localparam [AW-1:0] OFF_A = OFF[AW-1:0];
        wire [AW-1:0] rd_addr = img_addr_q + base_q[AW-1:0] + OFF_A;
        assign rd_data[t*PE*EW +: PE*EW] = mem_q[rd_addr];
      end
      wire unused_off = &{1'b0, off_q};
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      wr_idx_q <= {XW{1'b0}};
      wr_addr_q <= {AW{1'b0}};
      ahead_q <= 1'b0;
      cf_q <= {CFW{1'b0}};
      kx_q <= {KXW{1'b0}};
      ky_q <= {KYW{1'b0}};
      ox_q <= {OXW{1'b0}};
      oy_q <= {OYW{1'b0}};
      off_q <= {XW{1'b0}};
      base_q <= {XW{1'b0}};
      img_addr_q <= {AW{1'b0}};
    end else begin
      if (push) begin
        wr_idx_q <= wr_last ? {XW{1'b0}} : wr_idx_q + 1'b1;
        wr_addr_q <= wr_addr_q + 1'b1;
      end
      // The writer finishing an image needs !ahead_q; the reader finishing one needs ahead_q.
      if (push && wr_last) ahead_q <= 1'b1;
      else if (fire && img_end) ahead_q <= 1'b0;
      if (fire) begin
        cf_q <= cf_end ? {CFW{1'b0}} : cf_q + 1'b1;
        if (cf_end) kx_q <= kx_end ? {KXW{1'b0}} : kx_q + 1'b1;
        if (kx_end) ky_q <= ky_end ? {KYW{1'b0}} : ky_q + 1'b1;
        if (ky_end) ox_q <= ox_end ? {OXW{1'b0}} : ox_q + 1'b1;
        if (ox_end) oy_q <= img_end ? {OYW{1'b0}} : oy_q + 1'b1;
        if (ky_end) off_q <= {XW{1'b0}};
        else if (kx_end) off_q <= off_q + KY_INC_X;
        else if (cf_end) off_q <= off_q + KX_INC_X;
        else off_q <= off_q + 1'b1;
        if (img_end) begin
          base_q <= {XW{1'b0}};
          img_addr_q <= img_addr_q + IMG_A;
        end else if (ox_end) base_q <= base_q + OY_INC_X;
        else if (ky_end) base_q <= base_q + OX_INC_X;
      end
    end
  end
endmodule
`default_nettype wire
