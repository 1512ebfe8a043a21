// UART receiver, 8 data bits, no parity, 1 stop bit (8N1), LSB first. The line is synchronised with
// two flip-flops; each bit is sampled in its middle. A frame whose stop bit is low is dropped.
`default_nettype none
module uart_rx #(
  parameter CLKS_PER_BIT = 104
) (
  input  wire       clk,
  input  wire       rst_n,
  input  wire       rx,
  output reg  [7:0] data_q,
  output reg        valid_q
);
  localparam CW = $clog2(CLKS_PER_BIT + 1);
  // sized through integers: Verilator's WIDTH check flags a 32-bit expression in a CW-bit parameter
  localparam integer FULL_I = CLKS_PER_BIT - 1;
  localparam integer HALF_I = CLKS_PER_BIT / 2;
  localparam [CW-1:0] FULL = FULL_I[CW-1:0];
  localparam [CW-1:0] HALF = HALF_I[CW-1:0];

  localparam [1:0] S_IDLE = 2'd0, S_START = 2'd1, S_DATA = 2'd2, S_STOP = 2'd3;

  reg [1:0] sync_q;
  reg [1:0] state_q;
  reg [CW-1:0] cnt_q;
  reg [2:0] bit_q;
  reg [7:0] shift_q;

  wire line = sync_q[1];

  always @(posedge clk) begin
    // idle line is high: the synchroniser starts high so reset does not look like a start bit
    if (!rst_n) sync_q <= 2'b11;
    else sync_q <= {sync_q[0], rx};
  end

  always @(posedge clk) begin
    if (!rst_n) begin
      state_q <= S_IDLE;
      cnt_q <= {CW{1'b0}};
      bit_q <= 3'd0;
      valid_q <= 1'b0;
    end else begin
      valid_q <= 1'b0;
      case (state_q)
        S_IDLE: if (!line) begin
          state_q <= S_START;
          cnt_q <= {CW{1'b0}};
        end
        S_START: if (cnt_q == HALF) begin
          // middle of the start bit: still low, or a glitch
          cnt_q <= {CW{1'b0}};
          state_q <= line ? S_IDLE : S_DATA;
          bit_q <= 3'd0;
        end else cnt_q <= cnt_q + 1'b1;
        S_DATA: if (cnt_q == FULL) begin
          cnt_q <= {CW{1'b0}};
          shift_q <= {line, shift_q[7:1]};
          bit_q <= bit_q + 1'b1;
          if (bit_q == 3'd7) state_q <= S_STOP;
        end else cnt_q <= cnt_q + 1'b1;
        default: if (cnt_q == FULL) begin
          state_q <= S_IDLE;
          if (line) begin
            data_q <= shift_q;
            valid_q <= 1'b1;
          end
        end else cnt_q <= cnt_q + 1'b1;
      endcase
    end
  end
endmodule
`default_nettype wire
