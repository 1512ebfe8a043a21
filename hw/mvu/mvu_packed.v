`default_nettype none
// Matrix-vector unit with chosen multipliers: mvu.v's unit (same ports, parameters, folding,
// buffering and cycles; its comments below hold here too) whose multiply lanes are either packed
// several PE rows per DSP48 (PACK > 1) or shift-and-add in LUTs (MUL_LUT = 1). src/layers/mvu.ts
// uses it for an MVU with mult "lut" or one dspPacking() packs; every other MVU is mvu.v.
//
// Matrix-vector unit: y[r] = sum_c W[r][c] * x[c] for one COLS-element vector per inference.
//
// Folding: PE output rows in parallel, SIMD input elements per cycle. One vector takes
// NF*SF cycles (NF = ROWS/PE row folds, SF = COLS/SIMD column folds), one output beat of PE
// results per row fold. The input vector is double-buffered (two banks of SF beats) so the next
// vector loads while the current one is computed: steady state is exactly NF*SF cycles/vector.
//
// Weights are constants. Fully unrolled (NF*SF == 1): the WEIGHTS parameter, so synthesis
// constant-propagates every product (zero weights vanish, +-1 weights become wires/negations);
// there products are formed at their natural width and summed in a balanced adder tree that widens
// by one bit per level (about half the LUTs of a chain of ACC_W-bit products, Yosys-measured).
// Folded: a ROM (synchronous read) of NF*SF words of PE*SIMD weights, loaded from WEIGHT_FILE
// with $readmemh (path relative to the simulator's working directory = the generated output dir).
// Word nf*SF+sf holds W[nf*PE+p][sf*SIMD+s] at bits [(p*SIMD+s)*WW +: WW].
//
// Element codes (KIND parameters): 0 unsigned, 1 signed two's complement, 2 bipolar (1 = +1,
// 0 = -1), 3 (weights only) ternary, 2-bit two's complement in {-1, 0, 1}.
// Products, chosen per configuration by generate (no multiplier unless both sides are wider):
//   bipolar x bipolar  XNOR + popcount, result 2*popcount - COLS
//   bipolar weight     add/sub (x or -x);  ternary weight: add/sub/skip
//   bipolar input      add/sub (w or -w);  otherwise a signed multiply (ACC_W bits folded, WI+WW+1 unrolled).
// ACC_W (computed by src/layers/mvu.ts from the actual weights) holds every partial sum, so the
// accumulator cannot overflow; the output keeps the low OUT_W bits (the exact result fits).
//
// DSP packing (PACK > 1, folded multiply lanes only; chosen by dspPacking() in src/layers/mvu.ts):
// PACK rows p = g*PACK + k share input x[s], so one multiplier forms all their products at once:
//   A = sum_k w_k * 2^(k*POFF)  (signed, <= 25 bits: one DSP48 A port),  B = x'  (<= 18 bits),
// where x' = x - 2^(WI-1) for unsigned inputs (recentred: a signed x' keeps the lane products in
// fewer bits; the dropped 2^(WI-1)*sum_c w[r][c] is a per-row constant). PCHUNK such products (of
// consecutive s) are summed packed with C = PCHUNK * -PLO in every lane (PLO: the least lane
// product), so every lane field holds a non-negative sum below 2^POFF: no lane borrows from the
// next (that is the sign correction), and POFF - bits(lane range) guard bits let PCHUNK products
// accumulate before unpacking. Unpacking is a bit slice per lane; each row sums its fields over
// the chunks, and its accumulator starts a vector at CORR (CORR_FILE, one word of PE*ACC_W bits
// per row fold: COLS*PLO + the recentring constant), so the result is exact.
module mvu_packed #(
  parameter integer ROWS = 4,
  parameter integer COLS = 4,
  parameter integer PE = 4,
  parameter integer SIMD = 4,
  parameter integer WI = 4,
  parameter integer WW = 4,
  parameter integer OUT_W = 12,
  parameter integer ACC_W = 13,
  parameter integer IN_KIND = 1,
  parameter integer W_KIND = 1,
  parameter [PE*SIMD*WW-1:0] WEIGHTS = 0,
  parameter WEIGHT_FILE = "weights.mem",
  // Yosys rom_style of the weight ROM (src/layers/cost/memory.ts romStyle: where the estimate puts it).
  /* verilator lint_off UNUSEDPARAM */
  parameter ROM_STYLE = "auto",
  /* verilator lint_on UNUSEDPARAM */
  parameter integer PACK = 1,
  parameter integer POFF = 1,
  parameter integer PCHUNK = 1,
  parameter integer PLO = 0,
  parameter CORR_FILE = "corr.mem",
  parameter integer MUL_LUT = 0
) (
  input  wire                  clk,
  input  wire                  rst_n,
  input  wire [SIMD*WI-1:0]    s_axis_tdata,
  input  wire                  s_axis_tvalid,
  output wire                  s_axis_tready,
  output wire [PE*OUT_W-1:0]   m_axis_tdata,
  output wire                  m_axis_tvalid,
  input  wire                  m_axis_tready
);
  localparam integer NF = ROWS / PE;
  localparam integer SF = COLS / SIMD;
  localparam integer FOLDS = NF * SF;
  localparam integer SFW = SF > 1 ? $clog2(SF) : 1;
  localparam integer NFW = NF > 1 ? $clog2(NF) : 1;
  localparam integer AW = FOLDS > 1 ? $clog2(FOLDS) : 1;
  localparam [SFW-1:0] SF_LAST = SF[SFW-1:0] - 1'b1;
  localparam [NFW-1:0] NF_LAST = NF[NFW-1:0] - 1'b1;
  localparam [AW-1:0] A_LAST = FOLDS[AW-1:0] - 1'b1;
  localparam XNOR = IN_KIND == 2 && W_KIND == 2;

  // ---- input double buffer: bank b, beat i at index {b, i} ----
  reg [SIMD*WI-1:0] buf_q [0:(2 << SFW) - 1];
  reg [1:0] full_q;
  reg wr_bank_q, rd_bank_q;
  reg [SFW-1:0] wr_idx_q, sf_q;
  reg [NFW-1:0] nf_q;
  reg [AW-1:0] addr_q;
  reg out_valid_q;

  wire wr_last = wr_idx_q == SF_LAST;
  wire wr_en = s_axis_tvalid && s_axis_tready;
  assign s_axis_tready = !full_q[wr_bank_q];

  // One compute step per cycle while a full bank is waiting, unless the last column fold of a
  // row would overwrite an output beat that cannot leave this cycle.
  wire sf_last = sf_q == SF_LAST;
  wire nf_last = nf_q == NF_LAST;
  wire step = full_q[rd_bank_q] && (!sf_last || !out_valid_q || m_axis_tready);
  wire vec_done = step && sf_last && nf_last;

  always @(posedge clk) begin
    if (wr_en) buf_q[{wr_bank_q, wr_idx_q}] <= s_axis_tdata;
  end

  // ROM address of the fold computed this cycle; the ROM reads at the next address so its output
  // register (a synchronous read, BRAM-friendly) always holds the current fold's weights.
  wire [AW-1:0] addr_next = !rst_n ? {AW{1'b0}} : !step ? addr_q : addr_q == A_LAST ? {AW{1'b0}} : addr_q + 1'b1;
  always @(posedge clk) addr_q <= addr_next;

  always @(posedge clk) begin
    if (!rst_n) begin
      full_q <= 2'b00;
      wr_bank_q <= 1'b0;
      rd_bank_q <= 1'b0;
      wr_idx_q <= {SFW{1'b0}};
      sf_q <= {SFW{1'b0}};
      nf_q <= {NFW{1'b0}};
      out_valid_q <= 1'b0;
    end else begin
      // Writer and reader never touch the same bank's flag in one cycle (set needs it empty,
      // clear needs it full).
      if (wr_en) begin
        wr_idx_q <= wr_last ? {SFW{1'b0}} : wr_idx_q + 1'b1;
        if (wr_last) begin
          full_q[wr_bank_q] <= 1'b1;
          wr_bank_q <= !wr_bank_q;
        end
      end
      if (step) begin
        sf_q <= sf_last ? {SFW{1'b0}} : sf_q + 1'b1;
        if (sf_last) nf_q <= nf_last ? {NFW{1'b0}} : nf_q + 1'b1;
        if (vec_done) begin
          full_q[rd_bank_q] <= 1'b0;
          rd_bank_q <= !rd_bank_q;
        end
      end
      if (step && sf_last) out_valid_q <= 1'b1;
      else if (m_axis_tready) out_valid_q <= 1'b0;
    end
  end
  assign m_axis_tvalid = out_valid_q;

  // ---- weights of this fold ----
  wire [PE*SIMD*WW-1:0] w_word;
  generate
    if (FOLDS == 1) begin : g_const
      assign w_word = WEIGHTS;
      wire unused_addr = &{1'b0, addr_next};
    end else begin : g_rom
      (* rom_style = ROM_STYLE *) reg [PE*SIMD*WW-1:0] rom [0:FOLDS-1];
      initial $readmemh(WEIGHT_FILE, rom);
      reg [PE*SIMD*WW-1:0] w_q;
      always @(posedge clk) w_q <= rom[addr_next];
      assign w_word = w_q;
    end
  endgenerate

  // The current input beat. With several beats per vector the buffer is read synchronously at the
  // next read address (BRAM-friendly); a bank's beat 0 is then written at least a cycle before it can
  // be read. With one beat per vector that beat may be written in the very cycle it is first needed,
  // so the (two-entry) buffer is read combinationally.
  wire [SIMD*WI-1:0] x_word;
  generate
    if (SF == 1) begin : g_x_comb
      assign x_word = buf_q[{rd_bank_q, sf_q}];
    end else begin : g_x_sync
      wire [SFW-1:0] sf_next = !rst_n ? {SFW{1'b0}} : !step ? sf_q : sf_last ? {SFW{1'b0}} : sf_q + 1'b1;
      wire rd_bank_next = !rst_n ? 1'b0 : vec_done ? !rd_bank_q : rd_bank_q;
      reg [SIMD*WI-1:0] x_q;
      always @(posedge clk) x_q <= buf_q[{rd_bank_next, sf_next}];
      assign x_word = x_q;
    end
  endgenerate

  // w*x as a signed product at its natural width (each side one bit wider so unsigned codes fit;
  // every lane term fits PW bits), then sign-extended to ACC_W: synthesis sees a WI x WW
  // multiplier, not an ACC_W x ACC_W one (as unsigned vectors, the sign-extended ACC_W operands
  // made Yosys build full-width constant multipliers: ~2x the LUTs in fully unrolled rows).
  localparam integer PW = WI + WW + 1;
  localparam integer EW = ACC_W > PW ? ACC_W : PW;
  localparam integer LEVELS = SIMD > 1 ? $clog2(SIMD) : 0;
  localparam integer ROOT_W = PW + LEVELS < ACC_W ? PW + LEVELS : ACC_W;
  function [ACC_W-1:0] narrow_product(input [WW-1:0] w, input [WI-1:0] x);
    reg signed [WI:0] xs;
    reg signed [WW:0] ws;
    reg signed [PW-1:0] prod;
    /* verilator lint_off UNUSEDSIGNAL */ // top bits when ACC_W < PW (the exact sum fits ACC_W)
    reg [EW-1:0] ext;
    /* verilator lint_on UNUSEDSIGNAL */
    begin
      xs = IN_KIND == 1 ? {x[WI-1], x} : {1'b0, x};
      ws = W_KIND == 0 ? {1'b0, w} : {w[WW-1], w};
      prod = xs * ws;
      ext = {{(EW - PW + 1){prod[PW-1]}}, prod[PW-2:0]};
      narrow_product = ext[ACC_W-1:0];
    end
  endfunction

  // mult "lut" (MUL_LUT = 1): a multiply lane is a shift-and-add of WW partial products at the
  // product's natural width (WI+WW+1 bits), so no synthesis tool infers a DSP for it; the weight's
  // top bit weighs -2^(WW-1) when signed. Sign-extended to ACC_W like narrow_product.
  function [ACC_W-1:0] lut_product(input [WW-1:0] w, input [WI-1:0] x);
    reg [WI:0] xs;
    reg [PW-1:0] xv, acc;
    /* verilator lint_off UNUSEDSIGNAL */ // top bits when ACC_W < PW (the exact sum fits ACC_W)
    reg [EW-1:0] ext;
    /* verilator lint_on UNUSEDSIGNAL */
    integer b;
    begin
      xs = IN_KIND == 1 ? {x[WI-1], x} : {1'b0, x};
      xv = {{(PW - WI - 1){xs[WI]}}, xs};
      acc = {PW{1'b0}};
      for (b = 0; b < WW; b = b + 1) begin
        if (w[b]) acc = W_KIND == 1 && b == WW - 1 ? acc - (xv << b) : acc + (xv << b);
      end
      ext = {{(EW - PW + 1){acc[PW-1]}}, acc[PW-2:0]};
      lut_product = ext[ACC_W-1:0];
    end
  endfunction
  localparam LUT_LANES = MUL_LUT != 0 && IN_KIND < 2 && W_KIND < 2 && !XNOR;

  // x_value, w_value (a code's value in ACC_W bits) and term (one lane's w*x, or its xnor bit), with
  // mvu's XNOR lanes and natural-width unrolled products.
`define KILN_CV_XNOR
`define KILN_CV_NARROW
  `include "code_values.vh"

  // ---- packed multipliers (PACK > 1): fields[(p*CHUNKS + j)*POFF +: POFF] = row p's chunk j ----
  localparam integer GROUPS = (PE + PACK - 1) / PACK;
  localparam integer CHUNKS = (SIMD + PCHUNK - 1) / PCHUNK;
  localparam integer WS = W_KIND == 0 ? WW + 1 : WW;  // signed width of a weight
  localparam integer XS = WI;                          // signed width of x' (recentred when unsigned)
  localparam integer FLW = POFF + (CHUNKS > 1 ? $clog2(CHUNKS) : 0); // a row's field sum
  wire [PE*CHUNKS*POFF-1:0] fields;
  wire [PE*ACC_W-1:0] corr_word;
  genvar g, j, q;
  generate
    if (PACK > 1) begin : g_pack
      reg [PE*ACC_W-1:0] corr_rom [0:NF-1];
      initial $readmemh(CORR_FILE, corr_rom);
      assign corr_word = corr_rom[NF > 1 ? nf_q : {NFW{1'b0}}];
      for (g = 0; g < GROUPS; g = g + 1) begin : grp
        localparam integer LN = PE - g*PACK < PACK ? PE - g*PACK : PACK; // lanes of this group
        localparam integer AWD = (LN - 1) * POFF + WS;
        // Packed sums are non-negative, below 2^(LN*POFF): exact modulo 2^PWD.
        localparam integer PWD = LN * POFF + 1 > AWD + XS + 1 ? LN * POFF + 1 : AWD + XS + 1;
        for (j = 0; j < CHUNKS; j = j + 1) begin : chk
          localparam integer S0 = j * PCHUNK;
          localparam integer CNT = SIMD - S0 < PCHUNK ? SIMD - S0 : PCHUNK;
          localparam integer MW = AWD + XS;
          localparam integer BIAS = -PLO * CNT;
          localparam integer XSW = XS + (CNT > 1 ? $clog2(CNT) : 0) + 1; // sum of CNT x' values
          reg signed [PWD-1:0] psum, xfix;
          reg [PWD-1:0] bias;
          reg [AWD-1:0] a, wext;
          reg signed [AWD-1:0] top;
          reg signed [XS-1:0] xs;
          reg signed [XSW-1:0] xsum;
          reg signed [MW-1:0] m;
          reg [WW-1:0] wk;
          integer s, k;
          always @* begin
            // C = bias - WB*x' first (the same for every group with LN lanes: shared by opt_merge),
            // then the products, so each product's add can be a DSP48 post-adder (C port / cascade).
            xsum = {XSW{1'b0}};
            for (s = S0; s < S0 + CNT; s = s + 1) begin
              xs = IN_KIND == 0 ? {~x_word[s*WI + WI - 1], x_word[s*WI +: WI - 1]} : x_word[s*WI +: WI];
              xsum = xsum + {{(XSW - XS + 1){xs[XS-1]}}, xs[XS-2:0]};
            end
            bias = {PWD{1'b0}};
            bias[POFF-1:0] = BIAS[POFF-1:0];
            psum = {PWD{1'b0}};
            for (k = 0; k < LN; k = k + 1) psum = psum + (bias << (k * POFF));
            // WB * x' out of every lower field; WB = 2^(WW-1) for signed weights, 0 for unsigned.
            xfix = {PWD{1'b0}};
            if (W_KIND != 0) for (k = 0; k + 1 < LN; k = k + 1) xfix = xfix + ({{(PWD - XSW + 1){xsum[XSW-1]}}, xsum[XSW-2:0]} <<< (k * POFF + WW - 1));
            psum = psum - xfix;
            for (s = S0; s < S0 + CNT; s = s + 1) begin
              // A is wiring: lower lanes hold w + WB (non-negative: no borrow into the next field),
              // the top lane w itself, sign-extended.
              a = {AWD{1'b0}};
              for (k = 0; k < LN; k = k + 1) begin
                wk = w_word[((g*PACK + k)*SIMD + s)*WW +: WW];
                if (k + 1 < LN) begin
                  wext = {AWD{1'b0}};
                  wext[WW-1:0] = W_KIND == 0 ? wk : {~wk[WW-1], wk[WW-2:0]};
                  a = a | (wext << (k * POFF));
                end else begin
                  top = {AWD{W_KIND != 0 && wk[WW-1]}};
                  top[WW-1:0] = wk;
                  a = a | (top << (k * POFF));
                end
              end
              xs = IN_KIND == 0 ? {~x_word[s*WI + WI - 1], x_word[s*WI +: WI - 1]} : x_word[s*WI +: WI];
              m = $signed(a) * xs;
              psum = psum + {{(PWD - MW + 1){m[MW-1]}}, m[MW-2:0]};
            end
          end
          for (q = 0; q < LN; q = q + 1) begin : unpack
            assign fields[((g*PACK + q)*CHUNKS + j)*POFF +: POFF] = psum[q*POFF +: POFF];
          end
          wire unused_psum = &{1'b0, psum[PWD-1:LN*POFF]};
        end
      end
    end else begin : g_nopack
      assign fields = {(PE*CHUNKS*POFF){1'b0}};
      assign corr_word = {(PE*ACC_W){1'b0}};
      wire unused_fields = &{1'b0, fields};
    end
  endgenerate

  genvar p;
  generate
    for (p = 0; p < PE; p = p + 1) begin : g_pe
      wire [ACC_W-1:0] dot;
      if (PACK > 1) begin : g_fields
        // The row's chunk fields, summed unsigned (FLW bits hold them all; sums are exact modulo
        // 2^ACC_W, where the result fits).
        localparam integer DW = ACC_W > FLW ? ACC_W : FLW;
        reg [DW-1:0] fsum, fext;
        integer c;
        always @* begin
          fsum = {DW{1'b0}};
          for (c = 0; c < CHUNKS; c = c + 1) begin
            fext = {DW{1'b0}};
            fext[POFF-1:0] = fields[(p*CHUNKS + c)*POFF +: POFF];
            fsum = fsum + fext;
          end
        end
        assign dot = fsum[ACC_W-1:0];
        if (DW > ACC_W) begin : g_unused_fsum
          wire unused_fsum = &{1'b0, fsum[DW-1:ACC_W]};
        end
      end else if (FOLDS == 1) begin : g_tree
        // Balanced adder tree, each level one bit wider than the one below (capped at ACC_W: sums
        // are exact modulo 2^ACC_W and the result fits), leaves at the lane term's natural width.
        genvar l, i;
        for (l = 0; l <= LEVELS; l = l + 1) begin : lv
          localparam integer N = (SIMD + (1 << l) - 1) >> l;
          localparam integer W = PW + l < ACC_W ? PW + l : ACC_W;
          wire [N*W-1:0] v;
          for (i = 0; i < N; i = i + 1) begin : node
            if (l == 0) begin : leaf
              wire [ACC_W-1:0] t = LUT_LANES ? lut_product(w_word[(p*SIMD+i)*WW +: WW], x_word[i*WI +: WI]) : term(w_word[(p*SIMD+i)*WW +: WW], x_word[i*WI +: WI]);
              assign v[i*W +: W] = t[W-1:0];
              if (W < ACC_W) begin : g_unused
                wire unused_t = &{1'b0, t[ACC_W-1:W]};
              end
            end else begin : sum
              localparam integer WB = PW + l - 1 < ACC_W ? PW + l - 1 : ACC_W;
              wire [WB-1:0] a = lv[l-1].v[(2*i)*WB +: WB];
              wire [W-1:0] a_ext = {{(W - WB + 1){a[WB-1]}}, a[WB-2:0]};
              if (2*i + 1 < (SIMD + (1 << (l-1)) - 1) >> (l-1)) begin : add
                wire [WB-1:0] b = lv[l-1].v[(2*i+1)*WB +: WB];
                wire [W-1:0] b_ext = {{(W - WB + 1){b[WB-1]}}, b[WB-2:0]};
                assign v[i*W +: W] = a_ext + b_ext;
              end else begin : pass
                assign v[i*W +: W] = a_ext;
              end
            end
          end
        end
        wire [ROOT_W-1:0] root = lv[LEVELS].v;
        assign dot = {{(ACC_W - ROOT_W + 1){root[ROOT_W-1]}}, root[ROOT_W-2:0]};
      end else begin : g_chain
        reg [ACC_W-1:0] dot_r;
        integer s;
        always @* begin
          dot_r = {ACC_W{1'b0}};
          for (s = 0; s < SIMD; s = s + 1) begin
            if (LUT_LANES) dot_r = dot_r + lut_product(w_word[(p*SIMD+s)*WW +: WW], x_word[s*WI +: WI]);
            else dot_r = dot_r + term(w_word[(p*SIMD+s)*WW +: WW], x_word[s*WI +: WI]);
          end
        end
        assign dot = dot_r;
      end

      reg [ACC_W-1:0] acc_q;
      reg [OUT_W-1:0] out_q;
      wire [ACC_W-1:0] sum = (sf_q == {SFW{1'b0}} ? corr_word[p*ACC_W +: ACC_W] : acc_q) + dot;
      wire [ACC_W-1:0] result;
      if (XNOR) begin : g_xnor
        // XNOR mode accumulates popcount: value = 2*popcount - COLS (ACC_W is small here).
        localparam [ACC_W-1:0] COLS_A = COLS[ACC_W-1:0];
        assign result = (sum << 1) - COLS_A;
      end else begin : g_sum
        assign result = sum;
      end
      always @(posedge clk) begin
        if (step) acc_q <= sum;
        if (step && sf_last) out_q <= result[OUT_W-1:0];
      end
      assign m_axis_tdata[p*OUT_W +: OUT_W] = out_q;
      wire unused_result = &{1'b0, result[ACC_W-1:OUT_W]};
    end
  endgenerate
endmodule
`default_nettype wire
