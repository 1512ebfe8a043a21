// UART transmitter, 8N1, LSB first. `ready` is high when a new byte can be given with `valid`.
`default_nettype none
module uart_tx #(
  parameter CLKS_PER_BIT = 104
) (
  input  wire       clk,
  input  wire       rst_n,
  input  wire [7:0] data,
  input  wire       valid,
  output wire       ready,
  output wire       tx
);
  localparam CW = $clog2(CLKS_PER_BIT + 1);
  // sized through an integer: Verilator's WIDTH check flags a 32-bit expression in a CW-bit parameter
  localparam integer FULL_I = CLKS_PER_BIT - 1;
  localparam [CW-1:0] FULL = FULL_I[CW-1:0];

  reg [9:0] shift_q;   // stop bit, 8 data bits, start bit (sent from bit 0)
  reg [3:0] left_q;    // bits still to send
  reg [CW-1:0] cnt_q;
  reg tx_q;

  assign ready = (left_q == 4'd0);
  assign tx = tx_q;

  always @(posedge clk) begin
    if (!rst_n) begin
      left_q <= 4'd0;
      cnt_q <= {CW{1'b0}};
      tx_q <= 1'b1;
    end else if (left_q == 4'd0) begin
      if (valid) begin
        shift_q <= {1'b1, data, 1'b0};
        left_q <= 4'd10;
        cnt_q <= {CW{1'b0}};
      end
    end else if (cnt_q == {CW{1'b0}}) begin
      // start of a bit period: drive the next bit
      tx_q <= shift_q[0];
      shift_q <= {1'b1, shift_q[9:1]};
      cnt_q <= cnt_q + 1'b1;
    end else if (cnt_q == FULL) begin
      cnt_q <= {CW{1'b0}};
      left_q <= left_q - 1'b1;
    end else begin
      cnt_q <= cnt_q + 1'b1;
    end
  end
endmodule
`default_nettype wire
