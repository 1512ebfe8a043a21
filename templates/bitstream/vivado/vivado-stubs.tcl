# Stand-ins for the Vivado Tcl commands kiln's generated scripts use, so `kiln bitstream --check` can
# run a script under plain tclsh where Vivado is not installed. Not a simulation of Vivado: each stub
# checks what can be checked without it and records the call, one Tcl list per line, in $kiln_log.
#   - files: every path given to add_files / read_* must exist (or be one a stub "generated");
#   - IP and pins: get_bd_pins / get_bd_intf_pins resolve only pins the cell has (a table of the
#     Xilinx IPs used; a module reference's ports and AXI4-Stream interfaces are read from its Verilog),
#     and validate_bd_design fails on an unconnected clock, reset or interface of the design;
#   - outputs Vivado would write (wrapper, .hwh, .bit, checkpoints) are written as placeholders in
#     the copy of the project folder the check runs in, so the script's own file handling runs too.
# Any command without a stub is an error (see `unknown` at the end).
# Usage: tclsh driver: set kiln_log <file>; source vivado-stubs.tcl; source build.tcl

set kiln_calls {}
proc kiln_record {args} {
  set fh [open $::kiln_log a]
  puts $fh $args
  close $fh
}
proc kiln_fail {msg} { error "vivado-stub: $msg" }

# Splits args into options (-name value, or -flag when in $flags) and positional words.
proc kiln_parse {argl flags} {
  set opts [dict create]
  set pos {}
  for {set i 0} {$i < [llength $argl]} {incr i} {
    set a [lindex $argl $i]
    if {[string match -* $a] && ![string is double -strict $a]} {
      if {[lsearch -exact $flags $a] >= 0} {
        dict set opts $a 1
      } else {
        incr i
        if {$i >= [llength $argl]} { kiln_fail "option $a needs a value" }
        dict set opts $a [lindex $argl $i]
      }
    } else {
      lappend pos $a
    }
  }
  return [list $opts $pos]
}

set kiln_generated {}
proc kiln_placeholder {path text} {
  file mkdir [file dirname $path]
  set fh [open $path w]
  puts $fh $text
  close $fh
  lappend ::kiln_generated [file normalize $path]
}
proc kiln_require_files {cmd paths} {
  foreach p $paths {
    foreach f $p {
      if {![file exists $f]} { kiln_fail "$cmd: file '$f' does not exist" }
      lappend ::kiln_sources [file normalize $f]
    }
  }
}
set kiln_sources {}

# ---- projects and files ----
set kiln_project {}
proc create_project {args} {
  kiln_record create_project {*}$args
  lassign [kiln_parse $args {-force -in_memory}] opts pos
  if {![dict exists $opts -part]} { kiln_fail "create_project without -part" }
  lassign $pos name dir
  file mkdir $dir
  set ::kiln_project [dict create name $name dir [file normalize $dir] part [dict get $opts -part] top {}]
  return $name
}
proc current_project {args} { return [dict get $::kiln_project name] }
proc current_fileset {args} { return sources_1 }
proc current_design {args} { return kiln_design }
proc get_board_parts {args} {
  kiln_record get_board_parts {*}$args
  # No board files here: the script must work without them.
  return {}
}
proc set_property {args} {
  kiln_record set_property {*}$args
  lassign [kiln_parse $args {-quiet}] opts pos
  if {[dict exists $opts -dict]} {
    set pairs [dict get $opts -dict]
    set objs [lindex $pos 0]
  } else {
    lassign $pos name value objs
    set pairs [list $name $value]
  }
  if {[llength $pairs] % 2} { kiln_fail "set_property -dict needs name/value pairs" }
  foreach {name value} $pairs {
    foreach obj $objs {
      if {[string match cell:* $obj]} { dict set ::kiln_cells [string range $obj 5 end] config $name $value }
      if {$name eq "top" && $obj eq "sources_1"} { dict set ::kiln_project top $value }
    }
  }
}
proc add_files {args} {
  kiln_record add_files {*}$args
  lassign [kiln_parse $args {-norecurse -quiet}] opts pos
  kiln_require_files add_files $pos
  # Constraints are Tcl too: run them with the XDC stubs below.
  foreach f [concat {*}$pos] { if {[string match *.xdc $f]} { source $f } }
}
proc read_verilog {args} {
  kiln_record read_verilog {*}$args
  lassign [kiln_parse $args {-sv -quiet}] opts pos
  kiln_require_files read_verilog $pos
}
proc read_mem {args} {
  kiln_record read_mem {*}$args
  kiln_require_files read_mem [lindex [kiln_parse $args {}] 1]
}
proc read_xdc {args} {
  kiln_record read_xdc {*}$args
  lassign [kiln_parse $args {-unmanaged}] opts pos
  kiln_require_files read_xdc $pos
  foreach f [concat {*}$pos] { source $f }
}
proc get_files {args} {
  lassign [kiln_parse $args {-quiet -all}] opts pos
  set hits {}
  foreach f $::kiln_sources { foreach p $pos { if {[string match *$p $f]} { lappend hits $f } } }
  if {![llength $hits]} { kiln_fail "get_files: no file matches '$pos'" }
  return $hits
}
proc update_compile_order {args} { kiln_record update_compile_order {*}$args }

# The modules the design's Verilog defines: name → {ports {…} intfs {…} file f}.
proc kiln_modules {} {
  set mods [dict create]
  foreach f $::kiln_sources {
    if {![string match *.v $f]} continue
    set fh [open $f]; set text [read $fh]; close $fh
    # A module's header runs from `module NAME` to the first `);` (the end of its port list).
    foreach {start} [regexp -all -indices -inline {(?n)^\s*module\s+\w+} $text] {
      set from [lindex $start 0]
      set to [string first ");" $text $from]
      if {$to < 0} continue
      regexp {module\s+(\w+)} [string range $text $from end] -> name
      set body [string range $text $from $to]
      set ports {}
      set widths [dict create]
      foreach {m msb p} [regexp -all -inline {(?:input|output|inout)\s+(?:wire|reg)?\s*(?:signed\s*)?(?:\[(\d+):0\]\s*)?(\w+)} $body] {
        lappend ports $p
        dict set widths $p [expr {$msb eq "" ? 1 : $msb + 1}]
      }
      set intfs {}
      foreach {m i} [regexp -all -inline {X_INTERFACE_INFO\s*=\s*"xilinx.com:interface:\w+:[\d.]+\s+(\w+)\s} $body] {
        if {[lsearch -exact $intfs $i] < 0} { lappend intfs $i }
      }
      dict set mods $name [dict create ports $ports widths $widths intfs $intfs file $f]
    }
  }
  return $mods
}

# ---- IP catalogue and block designs ----
# Pins of the Xilinx IPs kiln's scripts use (PG082 processing_system7, PG201 zynq_ultra_ps_e,
# PG021 axi_dma, PG164 proc_sys_reset, PG247 smartconnect); clock/reset pins must be connected.
set kiln_ip {
  processing_system7 {
    version 5.5
    intf {DDR FIXED_IO M_AXI_GP0 S_AXI_HP0}
    pins {FCLK_CLK0 FCLK_RESET0_N M_AXI_GP0_ACLK S_AXI_HP0_ACLK IRQ_F2P}
    required {M_AXI_GP0_ACLK S_AXI_HP0_ACLK}
  }
  zynq_ultra_ps_e {
    version 3.4
    intf {M_AXI_HPM0_FPD S_AXI_HP0_FPD}
    pins {pl_clk0 pl_resetn0 maxihpm0_fpd_aclk saxihp0_fpd_aclk pl_ps_irq0}
    required {maxihpm0_fpd_aclk saxihp0_fpd_aclk}
  }
  axi_dma {
    version 7.1
    intf {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}
    pins {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn mm2s_introut s2mm_introut}
    required {s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}
  }
  proc_sys_reset {
    version 5.0
    intf {}
    pins {slowest_sync_clk ext_reset_in aux_reset_in mb_debug_sys_rst dcm_locked mb_reset bus_struct_reset peripheral_reset interconnect_aresetn peripheral_aresetn}
    required {slowest_sync_clk ext_reset_in}
  }
  smartconnect {
    version 1.0
    intf {}
    pins {aclk aresetn}
    required {aclk aresetn}
  }
}
proc get_ipdefs {args} {
  kiln_record get_ipdefs {*}$args
  lassign [kiln_parse $args {-all -quiet}] opts pos
  set filter [expr {[dict exists $opts -filter] ? [dict get $opts -filter] : ""}]
  set out {}
  dict for {name ip} $::kiln_ip {
    set vlnv xilinx.com:ip:$name:[dict get $ip version]
    if {$filter ne "" && ![regexp {VLNV\s*=~\s*(\S+)} $filter -> pat]} { kiln_fail "get_ipdefs: unsupported filter '$filter'" }
    if {$filter eq "" || [string match $pat $vlnv]} { lappend out $vlnv }
  }
  return $out
}

set kiln_bd {}
set kiln_cells [dict create]
set kiln_nets {}
set kiln_intf_nets {}
proc create_bd_design {name} {
  kiln_record create_bd_design $name
  if {$::kiln_project eq ""} { kiln_fail "create_bd_design before create_project" }
  set ::kiln_bd $name
  # Vivado writes the .bd into the project; get_files finds it from then on.
  set p [dict get $::kiln_project dir]/[dict get $::kiln_project name].srcs/sources_1/bd/$name/$name.bd
  kiln_placeholder $p "block design $name (stub)"
  lappend ::kiln_sources [file normalize $p]
}
proc create_bd_cell {args} {
  kiln_record create_bd_cell {*}$args
  lassign [kiln_parse $args {}] opts pos
  set name [lindex $pos 0]
  if {$::kiln_bd eq ""} { kiln_fail "create_bd_cell $name outside a block design" }
  if {[dict exists $::kiln_cells $name]} { kiln_fail "create_bd_cell: cell $name exists" }
  switch -- [dict get $opts -type] {
    ip {
      set vlnv [dict get $opts -vlnv]
      if {![regexp {^xilinx\.com:ip:(\w+):[\d.]+$} $vlnv -> ipname] || ![dict exists $::kiln_ip $ipname]} { kiln_fail "create_bd_cell: unknown IP '$vlnv'" }
      set ip [dict get $::kiln_ip $ipname]
      dict set ::kiln_cells $name [dict create kind $ipname intf [dict get $ip intf] pins [dict get $ip pins] required [dict get $ip required] config {}]
    }
    module {
      set ref [dict get $opts -reference]
      set mods [kiln_modules]
      if {![dict exists $mods $ref]} { kiln_fail "create_bd_cell: module '$ref' is in no added source file" }
      set m [dict get $mods $ref]
      set pins {}
      foreach p [dict get $m ports] {
        set inIntf 0
        foreach i [dict get $m intfs] { if {[string match ${i}_* $p]} { set inIntf 1 } }
        if {!$inIntf} { lappend pins $p }
      }
      if {![llength [dict get $m intfs]]} { kiln_fail "create_bd_cell: module '$ref' declares no bus interface (X_INTERFACE_INFO)" }
      # an AXI4-Stream interface's width is its TDATA port's
      set config {}
      foreach i [dict get $m intfs] {
        if {[dict exists $m widths ${i}_tdata]} { dict set config tdata:$i [dict get $m widths ${i}_tdata] }
      }
      dict set ::kiln_cells $name [dict create kind module:$ref intf [dict get $m intfs] pins $pins required [concat $pins [dict get $m intfs]] config $config]
    }
    default { kiln_fail "create_bd_cell: unsupported -type" }
  }
  return cell:$name
}
proc get_bd_cells {args} {
  set out {}
  foreach n $args { if {![dict exists $::kiln_cells $n]} { kiln_fail "get_bd_cells: no cell $n" }; lappend out cell:$n }
  return $out
}
# Pins a cell has; smartconnect's interfaces follow its NUM_SI / NUM_MI.
proc kiln_cell_pins {cell which} {
  set c [dict get $::kiln_cells $cell]
  set list [dict get $c $which]
  if {$which eq "intf" && [dict get $c kind] eq "smartconnect"} {
    set cfg [dict get $c config]
    set si [expr {[dict exists $cfg CONFIG.NUM_SI] ? [dict get $cfg CONFIG.NUM_SI] : 1}]
    set mi [expr {[dict exists $cfg CONFIG.NUM_MI] ? [dict get $cfg CONFIG.NUM_MI] : 1}]
    for {set i 0} {$i < $si} {incr i} { lappend list [format S%02d_AXI $i] }
    for {set i 0} {$i < $mi} {incr i} { lappend list [format M%02d_AXI $i] }
  }
  return $list
}
proc kiln_get_pins {which args} {
  set out {}
  foreach path $args {
    if {![regexp {^/?(\w+)/(\w+)$} $path -> cell pin]} { kiln_fail "pin path '$path' is not cell/pin" }
    if {![dict exists $::kiln_cells $cell]} { kiln_fail "no cell '$cell' for pin '$path'" }
    if {[lsearch -exact [kiln_cell_pins $cell $which] $pin] < 0} {
      kiln_fail "cell '$cell' ([dict get $::kiln_cells $cell kind]) has no [expr {$which eq "intf" ? "interface pin" : "pin"}] '$pin'"
    }
    lappend out $cell/$pin
  }
  return $out
}
proc get_bd_pins {args} { return [kiln_get_pins pins {*}$args] }
proc get_bd_intf_pins {args} { return [kiln_get_pins intf {*}$args] }
proc kiln_connect {kind pins} {
  upvar #0 kiln_$kind nets
  if {[llength $pins] < 2} { kiln_fail "connect_bd_$kind needs at least two pins, got '$pins'" }
  foreach p $pins {
    foreach net $nets { if {[lsearch -exact $net $p] >= 0} { kiln_fail "$p is connected twice" } }
  }
  lappend nets $pins
}
proc connect_bd_net {args} { kiln_record connect_bd_net {*}$args; kiln_connect nets [concat {*}$args] }
# TDATA width of an AXI4-Stream interface pin, or "" when not a stream: axi_dma's from its CONFIG
# (PG021 default 32), a module's from its Verilog.
proc kiln_tdata_width {pin} {
  lassign [split $pin /] cell name
  set c [dict get $::kiln_cells $cell]
  set cfg [dict get $c config]
  if {[dict get $c kind] eq "axi_dma"} {
    set key [dict get {M_AXIS_MM2S CONFIG.c_m_axis_mm2s_tdata_width S_AXIS_S2MM CONFIG.c_s_axis_s2mm_tdata_width} $name]
    return [expr {[dict exists $cfg $key] ? [dict get $cfg $key] : 32}]
  }
  return [expr {[dict exists $cfg tdata:$name] ? [dict get $cfg tdata:$name] : ""}]
}
proc connect_bd_intf_net {args} {
  kiln_record connect_bd_intf_net {*}$args
  set pins [concat {*}$args]
  if {[llength $pins] != 2} { kiln_fail "connect_bd_intf_net connects exactly two interface pins, got '$pins'" }
  lassign $pins a b
  if {[regexp {^axi_dma/(M_AXIS_MM2S|S_AXIS_S2MM)$} $a] || [regexp {^axi_dma/(M_AXIS_MM2S|S_AXIS_S2MM)$} $b]} {
    set wa [kiln_tdata_width $a]
    set wb [kiln_tdata_width $b]
    if {$wa eq "" || $wb eq ""} { kiln_fail "connect_bd_intf_net: $a and $b are not both AXI4-Streams" }
    if {$wa != $wb} { kiln_fail "connect_bd_intf_net: $a is $wa bits wide, $b is $wb bits (TDATA widths must match)" }
  }
  kiln_connect intf_nets $pins
}
proc apply_bd_automation {args} {
  kiln_record apply_bd_automation {*}$args
  lassign [kiln_parse $args {}] opts pos
  set rule [dict get $opts -rule]
  # The PS automation makes DDR and FIXED_IO external ports.
  if {$rule eq "xilinx.com:bd_rule:processing_system7"} {
    set cell [string range [lindex $pos 0] 5 end]
    lappend ::kiln_intf_nets [list $cell/DDR port:DDR] [list $cell/FIXED_IO port:FIXED_IO]
  }
}
proc assign_bd_address {args} { kiln_record assign_bd_address {*}$args }
proc validate_bd_design {args} {
  kiln_record validate_bd_design {*}$args
  set connected [concat {*}$::kiln_nets {*}$::kiln_intf_nets]
  dict for {cell c} $::kiln_cells {
    set required [dict get $c required]
    if {[dict get $c kind] eq "smartconnect"} { set required [concat $required [kiln_cell_pins $cell intf]] }
    foreach p $required {
      if {[lsearch -exact $connected $cell/$p] < 0} { kiln_fail "validate_bd_design: $cell/$p ([dict get $c kind]) is not connected" }
    }
  }
}
proc save_bd_design {args} { kiln_record save_bd_design {*}$args }
proc generate_target {args} {
  kiln_record generate_target {*}$args
  set p [dict get $::kiln_project dir]
  set n [dict get $::kiln_project name]
  kiln_placeholder $p/$n.gen/sources_1/bd/$::kiln_bd/hw_handoff/$::kiln_bd.hwh "hardware handoff (stub)"
}
proc make_wrapper {args} {
  kiln_record make_wrapper {*}$args
  set p [dict get $::kiln_project dir]/[dict get $::kiln_project name].gen/sources_1/bd/$::kiln_bd/hdl/$::kiln_bd\_wrapper.v
  kiln_placeholder $p "module $::kiln_bd\_wrapper (); endmodule"
  return $p
}

# ---- runs ----
proc get_runs {name} { return run:$name }
proc launch_runs {args} {
  kiln_record launch_runs {*}$args
  lassign [kiln_parse $args {}] opts pos
  if {[lindex $pos 0] eq "impl_1" && [dict exists $opts -to_step] && [dict get $opts -to_step] eq "write_bitstream"} {
    set top [dict get $::kiln_project top]
    if {$top eq ""} { kiln_fail "launch_runs impl_1 before the top is set" }
    set p [dict get $::kiln_project dir]
    kiln_placeholder $p/[dict get $::kiln_project name].runs/impl_1/$top.bit "bitstream (stub)"
  }
}
proc wait_on_run {args} { kiln_record wait_on_run {*}$args }
proc get_property {name obj} {
  if {$name eq "PROGRESS" && [string match run:* $obj]} { return 100% }
  if {$name eq "STATUS" && [string match run:* $obj]} { return "write_bitstream Complete!" }
  kiln_fail "get_property $name of $obj is not stubbed"
}
proc open_run {args} { kiln_record open_run {*}$args }

# ---- non-project (out-of-context) flow ----
proc synth_design {args} {
  kiln_record synth_design {*}$args
  lassign [kiln_parse $args {}] opts pos
  set top [dict get $opts -top]
  if {![dict exists [kiln_modules] $top]} { kiln_fail "synth_design: top '$top' is in no source read" }
  if {![dict exists $opts -part]} { kiln_fail "synth_design without -part" }
}
foreach cmd {opt_design place_design route_design report_timing_summary report_utilization} {
  proc $cmd {args} "kiln_record $cmd {*}\$args"
}
proc write_checkpoint {args} {
  kiln_record write_checkpoint {*}$args
  lassign [kiln_parse $args {-force}] opts pos
  kiln_placeholder [lindex $pos 0] "checkpoint (stub)"
}

# ---- XDC ----
proc get_ports {args} { return [lmap p $args { string cat port: $p }] }
proc create_clock {args} {
  kiln_record create_clock {*}$args
  lassign [kiln_parse $args {-add}] opts pos
  if {![string is double -strict [dict get $opts -period]]} { kiln_fail "create_clock: bad -period" }
}

proc unknown {args} { kiln_fail "'[lindex $args 0]' has no stub: add one to vivado-stubs.tcl (or the script misspells a command)" }
