// The web port's WebSocket: the client protocol one line per text frame, and how the router
// ends a connection that breaks the rules (binary or oversize frames, a browser too slow to
// read) with a reason.
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "unit/http_server_fixture.h"

namespace codeswarm::router::testing {
namespace {

namespace json = boost::json;

std::string ReadText(websocket::stream<tcp::socket>& ws, boost::system::error_code& ec) {
  beast::flat_buffer buffer;
  ws.read(buffer, ec);
  return beast::buffers_to_string(buffer.data());
}

TEST_F(HttpServerTest, CarriesTheClientProtocolOneLinePerTextFrame) {
  StartServer();
  auto ws = OpenWebSocket();
  Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(10));
  ws->write(boost::asio::buffer(Command("swarm_list", "list-1")));
  boost::system::error_code ec;
  std::string frame = ReadText(*ws, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(ws->got_text());
  EXPECT_EQ(frame.find('\n'), std::string::npos) << "one line per frame, without its newline";
  json::object event = json::parse(frame).as_object();
  EXPECT_EQ(event.at("event"), "swarm_list");
  EXPECT_EQ(event.at("data").at("request_id"), "list-1");

  // A rejection is the TCP port's, word for word.
  ws->write(boost::asio::buffer(std::string(R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_luanch","request_id":"x","payload":{}})")));
  event = json::parse(ReadText(*ws, ec)).as_object();
  EXPECT_EQ(event.at("event"), "command_rejected");
  EXPECT_EQ(event.at("data").at("code"), "unknown_command");
}

TEST_F(HttpServerTest, ABinaryFrameClosesTheConnectionWithAReason) {
  StartServer();
  auto ws = OpenWebSocket();
  Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(10));
  ws->binary(true);
  ws->write(boost::asio::buffer(Command("swarm_list", "bin")));
  boost::system::error_code ec;
  json::object closing = json::parse(ReadText(*ws, ec)).as_object();
  EXPECT_EQ(closing.at("event"), "connection_closing");
  EXPECT_NE(json::value_to<std::string>(closing.at("data").at("reason")).find("binary frames are not accepted"),
            std::string::npos);
  ReadText(*ws, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, websocket::close_code::unknown_data);
  EXPECT_NE(std::string(ws->reason().reason.c_str()).find("binary frames"), std::string::npos);
}

TEST_F(HttpServerTest, AFrameOverTheLineLimitClosesTheConnectionWithCode1009) {
  HttpLimits limits;
  limits.client.channel.max_line_bytes = 1024;
  StartServer(limits);
  auto ws = OpenWebSocket();
  Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(10));
  ws->write(boost::asio::buffer(std::string(2000, 'x')));
  boost::system::error_code ec;
  ReadText(*ws, ec);
  // The close frame arrived (its code is kept); the read then ends `closed`, or "not connected"
  // when the router's end was already gone as the client answered the close.
  EXPECT_TRUE(ec == websocket::error::closed || ec == boost::asio::error::not_connected) << ec.message();
  EXPECT_EQ(ws->reason().code, websocket::close_code::too_big);
}

TEST_F(HttpServerTest, AnswersPingsAndPingsAQuietBrowser) {
  HttpLimits limits;
  limits.ping_interval = std::chrono::milliseconds(200);
  StartServer(limits);
  auto ws = OpenWebSocket();
  Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(10));
  bool got_pong = false, got_ping = false;
  ws->control_callback([&](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong && payload == "are you there") got_pong = true;
    if (kind == websocket::frame_type::ping) got_ping = true;
  });
  ws->ping("are you there");
  // Control frames arrive while reading; the answer to a command ends the read.
  boost::system::error_code ec;
  ws->write(boost::asio::buffer(Command("swarm_list", "after-ping")));
  ReadText(*ws, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got_pong);
  // Quiet from here: the router pings after ping_interval (Beast answers while reading). The
  // read ends with a line the router sends a second later, well after the ping is due.
  const ClientId client = next_id_ - 1;
  auto wake = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds(1));
  wake->async_wait([this, wake, client](const boost::system::error_code&) {
    hub_.SendTo(client, "{\"event\":\"wake\"}\n");
  });
  EXPECT_EQ(ReadText(*ws, ec), "{\"event\":\"wake\"}");
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got_ping);
}

TEST_F(HttpServerTest, ABrowserThatStopsReadingIsCutOffWithAReason) {
  HttpLimits limits;
  limits.client.channel.queue_bytes = 64 << 10;
  limits.client.slow_client_grace_seconds = 2;
  StartServer(limits);
  auto ws = OpenWebSocket();
  Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(20));
  // Join the live stream, then stop reading while the router sends far more than the bound.
  boost::system::error_code ec;
  ws->write(boost::asio::buffer(Command("swarm_list", "join")));
  ReadText(*ws, ec);
  ASSERT_FALSE(ec);
  const ClientId client = next_id_ - 1;
  const std::string line = std::string(R"({"event":"filler","data":")") + std::string(16 << 10, 'x') + "\"}\n";
  boost::asio::post(io_, [this, client, line] {
    for (int i = 0; i < 1024; ++i) hub_.SendTo(client, line);
  });
  // Now read: what was written before the cut, then the reason, then the close.
  std::string last;
  for (;;) {
    std::string frame = ReadText(*ws, ec);
    if (ec) break;
    last = frame;
  }
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  json::object closing = json::parse(last).as_object();
  EXPECT_EQ(closing.at("event"), "connection_closing");
  EXPECT_NE(json::value_to<std::string>(closing.at("data").at("reason")).find("client too slow"),
            std::string::npos) << last;
  EXPECT_EQ(ws->reason().code, websocket::close_code::policy_error);
}

}  // namespace
}  // namespace codeswarm::router::testing
