// KILN_TABLE_BITS: bits of a constant table read at a channel-group counter, one GROUPS-entry
// constant column per bit muxed by `group_q` (a narrow mux per bit rather than a shifter over the
// whole table; the channel only ever appears in constant indices). Used inside a generate region of
// threshold.v (each lane's thresholds) and requant.v (each lane's multiplier and bias):
//   `KILN_TABLE_BITS(block, b, g, BITS, out_bit, table_bit)
// expands to a loop `block` over genvar b in [0, BITS) whose bit out_bit (an expression in b) is
// column[group_q], column[g] = table_bit (an expression in b and g), g in [0, GROUPS). The enclosing
// module declares the genvars and has GROUPS and group_q.
//
// A macro rather than a module: the generate text is exactly what each module had, so synthesis is
// unchanged (a table_fields submodule with the same logic changed Yosys 0.23's iCE40 mapping of a
// 128-channel threshold from 74 to 98 SB_LUT4). The include guard keeps one definition when several
// files that include this one are compiled together.
//
// Search path: hw/ tools find it with -y/-I hw/common; src/codegen pastes it into a design's rtl/
// copies, so a compiled design has no include.
`ifndef KILN_TABLE_BITS
`define KILN_TABLE_BITS(block, b, g, BITS, out_bit, table_bit) \
  for (b = 0; b < BITS; b = b + 1) begin : block \
    wire [GROUPS-1:0] column; \
    for (g = 0; g < GROUPS; g = g + 1) begin : g_group \
      assign column[g] = table_bit; \
    end \
    assign out_bit = column[group_q]; \
  end
`endif
