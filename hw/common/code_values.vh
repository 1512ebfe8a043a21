// Element-code values and the lane product of the multiply-accumulate kinds (mvu/mvu.v,
// mvu/mvu_sparse.v, window_reduce/window_reduce.v). Not a module: `include "code_values.vh" inside
// the module body. The functions read the enclosing module's parameters ACC_W, WI, WW, IN_KIND and
// W_KIND (and mvu's XNOR, FOLDS and narrow_product), so each module gets its own copy at its widths.
//
// Each module's term keeps the exact if-chain it had: a branch that is constant-false for a module
// still changes how Yosys 0.23 maps the same logic (measured: folded MVU 8x16 INT4xUINT4 on iCE40 153
// SB_LUT4 instead of 142 with one shared chain; bipolar-weight VectorVector +1 SB_LUT4; sparse MVU
// xc7 LUT mixes). So the branches only some modules have are chosen by macros the module defines
// right before the include, and this file undefines them at its end:
//   KILN_CV_XNOR          mvu: XNOR lanes first (popcount), uses the XNOR localparam
//   KILN_CV_NARROW        mvu: fully unrolled (FOLDS == 1) multiplies by narrow_product
//   KILN_CV_NO_BIPOLAR_W  mvu_sparse: no bipolar-weight branches (bipolar weights are never sparse)
//
// No `ifndef include guard on purpose: macros are global to a compilation unit, so a guard would leave
// the functions out of every module but the first one that includes this file. Including it twice in
// one module is a duplicate-declaration error from every tool.
//
// Search path: hw/ tools find it with -y/-I hw/common; a compiled design has no include at all
// (src/codegen pastes this file's code into its rtl/ copies, so rtl/ stays self-contained).
//
// Codes (KIND parameters): 0 unsigned, 1 signed two's complement, 2 bipolar (1 = +1, 0 = -1),
// 3 (weights only) ternary, 2-bit two's complement in {-1, 0, 1}.

  // Value of an input code / weight code as an ACC_W-bit signed number.
  function [ACC_W-1:0] x_value(input [WI-1:0] code);
    if (IN_KIND == 2) x_value = {{(ACC_W - 1){~code[0]}}, 1'b1};
    else if (IN_KIND == 1) x_value = {{(ACC_W - WI){code[WI-1]}}, code};
    else x_value = {{(ACC_W - WI){1'b0}}, code};
  endfunction
  function [ACC_W-1:0] w_value(input [WW-1:0] code);
`ifndef KILN_CV_NO_BIPOLAR_W
    if (W_KIND == 2) w_value = {{(ACC_W - 1){~code[0]}}, 1'b1};
    else
`endif
    if (W_KIND == 1 || W_KIND == 3) w_value = {{(ACC_W - WW){code[WW-1]}}, code};
    else w_value = {{(ACC_W - WW){1'b0}}, code};
  endfunction

  // One lane's contribution w*x (or the xnor bit) in ACC_W bits: add/sub (skip) for bipolar
  // (ternary) weights or bipolar inputs, no multiplier; otherwise a multiply.
  function [ACC_W-1:0] term(input [WW-1:0] w, input [WI-1:0] x);
`ifdef KILN_CV_XNOR
    if (XNOR) term = {{(ACC_W - 1){1'b0}}, ~(w[0] ^ x[0])};
    else
`endif
`ifndef KILN_CV_NO_BIPOLAR_W
    if (W_KIND == 2) term = w[0] ? x_value(x) : -x_value(x);
    else
`endif
    if (W_KIND == 3) term = w[0] ? (w[WW-1] ? -x_value(x) : x_value(x)) : {ACC_W{1'b0}};
    else if (IN_KIND == 2) term = x[0] ? w_value(w) : -w_value(w);
`ifdef KILN_CV_NARROW
    else if (FOLDS == 1) term = narrow_product(w, x);
`endif
    else term = x_value(x) * w_value(w);
  endfunction
`undef KILN_CV_XNOR
`undef KILN_CV_NARROW
`undef KILN_CV_NO_BIPOLAR_W
