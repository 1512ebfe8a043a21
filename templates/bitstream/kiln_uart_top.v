// Board top: the generated accelerator `kiln_top` behind a framed UART protocol (hw/uart/README.md).
// A request frame's payload is buffered and its CRC-16/CCITT-FALSE checked before any beat enters
// the accelerator, so a corrupted frame never reaches it; the response is sent while the output beats
// come out. One CRC register serves both directions (one frame is on the link at a time).
// Reset is internal (power-on counter): the iCE40 boards have no reset pin wired to the FPGA.
`default_nettype none
module kiln_uart_top #(
  parameter CLKS_PER_BIT = 104,      // clock / baud, e.g. 12 MHz / 115200
  parameter IN_W = 8,                // kiln_top s_axis_tdata width
  parameter OUT_W = 8,               // kiln_top m_axis_tdata width
  parameter IN_BEATS = 1,            // input beats per inference
  parameter OUT_BEATS = 1,           // output beats per inference
  parameter NS = 1,                  // kiln_top dbg_* width (number of streams)
  parameter TIMEOUT_CLKS = 1200000   // inter-byte gap that abandons a half-received frame (0.1 s)
) (
  input  wire clk,
  input  wire uart_rx,
  output wire uart_tx
);
  localparam IN_BYTES = (IN_W + 7) / 8;
  localparam OUT_BYTES = (OUT_W + 7) / 8;
  localparam integer IN_LEN_I = IN_BEATS * IN_BYTES;
  localparam integer OUT_LEN_I = OUT_BEATS * OUT_BYTES;
  localparam integer IN_BYTES_M1 = IN_BYTES - 1;
  localparam integer OUT_BYTES_M1 = OUT_BYTES - 1;
  localparam [15:0] IN_LEN = IN_LEN_I[15:0];
  localparam [15:0] OUT_LEN = OUT_LEN_I[15:0];
  localparam AW = (IN_LEN_I > 1) ? $clog2(IN_LEN_I) : 1;  // payload buffer address bits
  localparam TW = $clog2(TIMEOUT_CLKS + 1);

  localparam [7:0] SOF_REQ = 8'hA5, SOF_RSP = 8'h5A, SOF_NAK = 8'hEE;
  localparam [7:0] NAK_CRC = 8'h01, NAK_LENGTH = 8'h02;

  // CRC-16/CCITT-FALSE (poly 0x1021, MSB first) advanced by one byte: the byte-wise form
  // x = crc[15:8] ^ d, x ^= x >> 4, crc = crc << 8 ^ x << 12 ^ x << 5 ^ x, i.e. one level of 4-input
  // XORs for x and one for the result (src/hil/protocol.ts computes the same CRC bit by bit).
  function [15:0] crc16_byte(input [15:0] crc, input [7:0] d);
    reg [7:0] x;
    begin
      x = crc[15:8] ^ d;
      x = x ^ {4'd0, x[7:4]};
      crc16_byte = {crc[7:0], 8'd0} ^ {x[3:0], 12'd0} ^ {3'd0, x, 5'd0} ^ {8'd0, x};
    end
  endfunction

  // ---- power-on reset -------------------------------------------------------------------------
  reg [3:0] por_q = 4'd0;
  wire rst_n = &por_q;
  always @(posedge clk) if (!rst_n) por_q <= por_q + 1'b1;

  // ---- UART -----------------------------------------------------------------------------------
  wire [7:0] rx_data;
  wire rx_valid;
  reg [7:0] tx_data;
  reg tx_valid;
  wire tx_ready;

  uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
    .clk(clk), .rst_n(rst_n), .rx(uart_rx), .data_q(rx_data), .valid_q(rx_valid)
  );
  uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
    .clk(clk), .rst_n(rst_n), .data(tx_data), .valid(tx_valid), .ready(tx_ready), .tx(uart_tx)
  );

  // ---- accelerator ----------------------------------------------------------------------------
  wire [IN_W-1:0] s_tdata;
  wire s_tvalid;
  wire s_tready;
  wire [OUT_W-1:0] m_tdata;
  wire m_tvalid;
  wire m_tready;
  /* verilator lint_off UNUSEDSIGNAL */ // debug taps are for the simulator's watchdog only
  wire [NS-1:0] dbg_valid;
  wire [NS-1:0] dbg_ready;
  /* verilator lint_on UNUSEDSIGNAL */

  kiln_top u_kiln_top (
    .clk(clk), .rst_n(rst_n),
    .s_axis_tdata(s_tdata), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .dbg_valid(dbg_valid), .dbg_ready(dbg_ready)
  );

  // ---- payload buffer (one request), read synchronously so it maps to block RAM ---------------
  reg [7:0] buf_q [0:IN_LEN-1];
  reg [15:0] wr_addr_q;
  reg [15:0] rd_addr_q;
  reg [7:0] rd_q;
  reg buf_we;
  always @(posedge clk) begin
    if (buf_we) buf_q[wr_addr_q[AW-1:0]] <= rx_data;
    rd_q <= buf_q[rd_addr_q[AW-1:0]];
  end

  // ---- feeder: payload bytes → input beats (byte 0 = beat bits 7:0) ---------------------------
  localparam [1:0] F_IDLE = 2'd0, F_READ = 2'd1, F_CAPTURE = 2'd2, F_SEND = 2'd3;
  reg [1:0] feed_q;
  reg feed_start;
  reg [IN_BYTES*8-1:0] beat_q;
  reg [15:0] byte_in_beat_q;
  /* verilator lint_off UNUSEDSIGNAL */ // the low byte is the one shifted out
  wire [IN_BYTES*8+7:0] beat_shifted = {rd_q, beat_q};
  /* verilator lint_on UNUSEDSIGNAL */
  assign s_tdata = beat_q[IN_W-1:0];
  assign s_tvalid = (feed_q == F_SEND);

  always @(posedge clk) begin
    if (!rst_n) begin
      feed_q <= F_IDLE;
      rd_addr_q <= 16'd0;
    end else begin
      case (feed_q)
        F_IDLE: if (feed_start) begin
          rd_addr_q <= 16'd0;
          byte_in_beat_q <= 16'd0;
          feed_q <= F_READ;
        end
        F_READ: feed_q <= F_CAPTURE;  // rd_q shows buf_q[rd_addr_q[AW-1:0]] next cycle
        F_CAPTURE: begin
          beat_q <= beat_shifted[IN_BYTES*8+7:8];
          rd_addr_q <= rd_addr_q + 1'b1;
          if (byte_in_beat_q == IN_BYTES_M1[15:0]) begin
            byte_in_beat_q <= 16'd0;
            feed_q <= F_SEND;
          end else begin
            byte_in_beat_q <= byte_in_beat_q + 1'b1;
            feed_q <= F_READ;
          end
        end
        default: if (s_tready) feed_q <= (rd_addr_q == IN_LEN) ? F_IDLE : F_READ;
      endcase
    end
  end

  // ---- protocol ---------------------------------------------------------------------------------
  localparam [4:0] M_SOF = 5'd0, M_SEQ = 5'd1, M_LEN0 = 5'd2, M_LEN1 = 5'd3, M_PAY = 5'd4,
                   M_CRC_HI = 5'd5, M_CRC_LO = 5'd6, M_CHECK = 5'd7,
                   M_NAK_SOF = 5'd8, M_NAK_SEQ = 5'd9, M_NAK_CODE = 5'd10,
                   M_RSP_SOF = 5'd11, M_RSP_SEQ = 5'd12, M_RSP_LEN0 = 5'd13, M_RSP_LEN1 = 5'd14,
                   M_RSP_BEAT = 5'd15, M_RSP_BYTE = 5'd16, M_RSP_CRC_HI = 5'd17, M_RSP_CRC_LO = 5'd18;
  reg [4:0] state_q;
  reg [7:0] seq_q;
  reg [7:0] len0_q;
  reg [15:0] crc_q;       // CRC of the frame's bytes after the start byte so far
  reg [7:0] nak_code_q;
  reg [15:0] count_q;     // payload bytes received / output bytes sent
  reg [15:0] byte_in_out_q;
  reg [OUT_BYTES*8-1:0] out_q;
  reg [TW-1:0] idle_q;    // clocks since the last received byte of a frame

  wire receiving = (state_q == M_SEQ) || (state_q == M_LEN0) || (state_q == M_LEN1) ||
                   (state_q == M_PAY) || (state_q == M_CRC_HI) || (state_q == M_CRC_LO);
  assign m_tready = (state_q == M_RSP_BEAT);

  // the byte on the transmitter while a sending state waits for it
  always @(*) begin
    tx_valid = 1'b1;
    case (state_q)
      M_NAK_SOF:  tx_data = SOF_NAK;
      M_NAK_SEQ:  tx_data = seq_q;
      M_NAK_CODE: tx_data = nak_code_q;
      M_RSP_SOF:  tx_data = SOF_RSP;
      M_RSP_SEQ:  tx_data = seq_q;
      M_RSP_LEN0: tx_data = OUT_LEN[7:0];
      M_RSP_LEN1: tx_data = OUT_LEN[15:8];
      M_RSP_BYTE: tx_data = out_q[7:0];
      // CRC high byte first: advancing crc_q by it leaves the low byte on top (see the CRC register)
      M_RSP_CRC_HI, M_RSP_CRC_LO: tx_data = crc_q[15:8];
      default: begin
        tx_data = 8'd0;
        tx_valid = 1'b0;
      end
    endcase
  end

  // ---- CRC register: restarts at each start byte and advances by every byte received or sent
  // after it. A frame's CRC goes high byte first, so advancing over it too ends at zero. The receiver
  // checks for that a clock after the last byte (M_CHECK keeps the XORs off the feeder's path); the
  // sender sends crc_q[15:8] twice (advancing over its own high byte moves the low byte up, as the
  // message part of the update is then zero).
  wire [15:0] crc_next = crc16_byte(crc_q, receiving ? rx_data : tx_data);
  always @(posedge clk) begin
    if (state_q == M_SOF || state_q == M_RSP_SOF) crc_q <= 16'hFFFF;
    else if (receiving ? rx_valid : (tx_valid && tx_ready)) crc_q <= crc_next;
  end

  always @(*) begin
    buf_we = (state_q == M_PAY) && rx_valid;
    feed_start = (state_q == M_CHECK) && (crc_q == 16'd0);
  end

  wire [OUT_BYTES*8-1:0] out_padded = {{(OUT_BYTES*8-OUT_W){1'b0}}, m_tdata};

  always @(posedge clk) begin
    if (!rst_n) begin
      state_q <= M_SOF;
      idle_q <= {TW{1'b0}};
      wr_addr_q <= 16'd0;
    end else begin
      if (!receiving || rx_valid) idle_q <= {TW{1'b0}};
      else idle_q <= idle_q + 1'b1;
      if (receiving && !rx_valid && idle_q == TIMEOUT_CLKS[TW-1:0]) begin
        state_q <= M_SOF;  // abandoned or truncated frame: resynchronise on the next start byte
      end else begin
        case (state_q)
          M_SOF: if (rx_valid && rx_data == SOF_REQ) state_q <= M_SEQ;
          M_SEQ: if (rx_valid) begin
            seq_q <= rx_data;
            state_q <= M_LEN0;
          end
          M_LEN0: if (rx_valid) begin
            len0_q <= rx_data;
            state_q <= M_LEN1;
          end
          M_LEN1: if (rx_valid) begin
            wr_addr_q <= 16'd0;
            if ({rx_data, len0_q} == IN_LEN) state_q <= M_PAY;
            else begin
              nak_code_q <= NAK_LENGTH;
              state_q <= M_NAK_SOF;
            end
          end
          M_PAY: if (rx_valid) begin
            wr_addr_q <= wr_addr_q + 1'b1;
            if (wr_addr_q == IN_LEN - 1) state_q <= M_CRC_HI;
          end
          M_CRC_HI: if (rx_valid) state_q <= M_CRC_LO;
          M_CRC_LO: if (rx_valid) state_q <= M_CHECK;
          M_CHECK: if (feed_start) state_q <= M_RSP_SOF;
          else begin
            nak_code_q <= NAK_CRC;
            state_q <= M_NAK_SOF;
          end
          M_NAK_SOF:  if (tx_ready) state_q <= M_NAK_SEQ;
          M_NAK_SEQ:  if (tx_ready) state_q <= M_NAK_CODE;
          M_NAK_CODE: if (tx_ready) state_q <= M_SOF;
          M_RSP_SOF:  if (tx_ready) state_q <= M_RSP_SEQ;
          M_RSP_SEQ:  if (tx_ready) begin
            count_q <= 16'd0;
            state_q <= M_RSP_LEN0;
          end
          M_RSP_LEN0: if (tx_ready) state_q <= M_RSP_LEN1;
          M_RSP_LEN1: if (tx_ready) state_q <= M_RSP_BEAT;
          M_RSP_BEAT: if (m_tvalid) begin
            out_q <= out_padded;
            byte_in_out_q <= 16'd0;
            state_q <= M_RSP_BYTE;
          end
          M_RSP_BYTE: if (tx_ready) begin
            out_q <= out_q >> 8;
            count_q <= count_q + 1'b1;
            byte_in_out_q <= byte_in_out_q + 1'b1;
            if (count_q == OUT_LEN - 1) state_q <= M_RSP_CRC_HI;
            else if (byte_in_out_q == OUT_BYTES_M1[15:0]) state_q <= M_RSP_BEAT;
          end
          M_RSP_CRC_HI: if (tx_ready) state_q <= M_RSP_CRC_LO;
          default: if (tx_ready) state_q <= M_SOF;  // M_RSP_CRC_LO
        endcase
      end
    end
  end
endmodule
`default_nettype wire
