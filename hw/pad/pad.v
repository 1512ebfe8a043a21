`default_nettype none
// Padding (FINN FMPadding): an IH x IW image, C channels, NHWC order, PE channels per beat, grows by
// TOP/BOTTOM rows and LEFT/RIGHT columns of PAD_CODE. One output beat per cycle: a padding position
// emits PAD_CODE in every lane without taking input; an interior position passes the input beat on
// (s_axis_tready only there). One output register (common/out_reg.v).
module pad #(
  parameter integer IH = 4,
  parameter integer IW = 4,
  parameter integer C = 1,
  parameter integer PE = 1,
  parameter integer TOP = 1,
  parameter integer BOTTOM = 1,
  parameter integer LEFT = 1,
  parameter integer RIGHT = 1,
  parameter integer EW = 8,
  parameter integer PAD_CODE = 0
) (
  input  wire               clk,
  input  wire               rst_n,
  input  wire [PE*EW-1:0]   s_axis_tdata,
  input  wire               s_axis_tvalid,
  output wire               s_axis_tready,
  output wire [PE*EW-1:0]   m_axis_tdata,
  output wire               m_axis_tvalid,
  input  wire               m_axis_tready
);
  localparam integer CF = C / PE;
  localparam integer OH = TOP + IH + BOTTOM;
  localparam integer OW = LEFT + IW + RIGHT;
  localparam integer CFW = CF > 1 ? $clog2(CF) : 1;
  localparam integer YW = $clog2(OH + 1);
  localparam integer XW = $clog2(OW + 1);
  localparam [CFW-1:0] CF_LAST = CF[CFW-1:0] - 1'b1;
  localparam [YW-1:0] Y_LAST = OH[YW-1:0] - 1'b1;
  localparam [XW-1:0] X_LAST = OW[XW-1:0] - 1'b1;
  localparam [YW-1:0] Y_IN = TOP[YW-1:0];
  localparam [YW-1:0] Y_OUT = Y_IN + IH[YW-1:0];
  localparam [XW-1:0] X_IN = LEFT[XW-1:0];
  localparam [XW-1:0] X_OUT = X_IN + IW[XW-1:0];
  localparam [EW-1:0] PAD = PAD_CODE[EW-1:0];

  reg [CFW-1:0] cf_q;
  reg [YW-1:0] y_q;
  reg [XW-1:0] x_q;

  // With TOP or LEFT = 0 a lower bound is always true; that is the intended meaning.
  /* verilator lint_off UNSIGNED */
  wire interior = y_q >= Y_IN && y_q < Y_OUT && x_q >= X_IN && x_q < X_OUT;
  /* verilator lint_on UNSIGNED */
  wire out_free;
  assign s_axis_tready = out_free && interior;
  wire emit = !interior || s_axis_tvalid; // a padding beat needs no input
  wire fire = out_free && emit;
  wire [PE*EW-1:0] beat = interior ? s_axis_tdata : {PE{PAD}};
  wire cf_end = cf_q == CF_LAST;
  wire x_end = cf_end && x_q == X_LAST;

  out_reg #(.W(PE*EW)) u_out (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(beat), .s_axis_tvalid(emit), .s_axis_tready(out_free),
    .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
  );

  always @(posedge clk) begin
    if (!rst_n) begin
      cf_q <= {CFW{1'b0}};
      y_q <= {YW{1'b0}};
      x_q <= {XW{1'b0}};
    end else if (fire) begin
      cf_q <= cf_end ? {CFW{1'b0}} : cf_q + 1'b1;
      if (cf_end) x_q <= x_end ? {XW{1'b0}} : x_q + 1'b1;
      if (x_end) y_q <= y_q == Y_LAST ? {YW{1'b0}} : y_q + 1'b1;
    end
  end
endmodule
`default_nettype wire
