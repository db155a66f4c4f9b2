// The web port's HTTP side: what it serves, with which headers, and what it refuses.
#include "unit/http_server_fixture.h"

namespace codeswarm::router::testing {
namespace {

TEST_F(HttpServerTest, ServesThePageWithAStrictPolicyAndNoCors) {
  StartServer();
  auto response = Get("/", Host(), [](auto& request) {
    request.set(http::field::origin, "http://evil.example");
  });
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(response.body().find("<script type=\"module\" src=\"/app.js\">"), std::string::npos);
  const std::string policy(response["Content-Security-Policy"]);
  EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-eval"), std::string::npos) << policy;
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(response.find(http::field::access_control_allow_origin), response.end());

  auto script = Get("/app.js", Host());
  EXPECT_EQ(script.result_int(), 200);
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/nothing-here", Host()).result_int(), 404);
}

TEST_F(HttpServerTest, TakesLoopbackHostsAndRefusesOtherNames) {
  StartServer();
  EXPECT_EQ(Get("/", "localhost:" + std::to_string(port_)).result_int(), 200);
  auto rebound = Get("/", "attacker.example:" + std::to_string(port_));
  EXPECT_EQ(rebound.result_int(), 403);
  EXPECT_NE(rebound.body().find("is not a loopback name"), std::string::npos) << rebound.body();
  EXPECT_EQ(Get("/", "").result_int(), 403);
}

TEST_F(HttpServerTest, MetricsAreNotFoundUntilSomethingServesThem) {
  StartServer();
  EXPECT_EQ(Get("/metrics", Host()).result_int(), 404);
  server_->ServeMetrics([] { return std::string("codeswarm_clients 0\n"); });
  auto metrics = Get("/metrics", Host());
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_EQ(metrics.body(), "codeswarm_clients 0\n");
}

TEST_F(HttpServerTest, RefusesBadUpgrades) {
  StartServer();
  // /ws without an upgrade.
  EXPECT_EQ(Get("/ws", Host()).result_int(), 426);
  // An upgrade elsewhere.
  EXPECT_EQ(Get("/other", Host(), [this](auto& request) {
              request.set(http::field::connection, "upgrade");
              request.set(http::field::upgrade, "websocket");
              request.set(http::field::origin, Origin());
            }).result_int(), 404);
  // An upgrade without Sec-WebSocket-Key or version.
  EXPECT_EQ(Get("/ws", Host(), [this](auto& request) {
              request.set(http::field::connection, "upgrade");
              request.set(http::field::upgrade, "websocket");
              request.set(http::field::origin, Origin());
            }).result_int(), 400);
}

TEST_F(HttpServerTest, RefusesAWebSocketFromAnotherOrigin) {
  StartServer();
  for (const std::string& origin : std::vector<std::string>{"http://attacker.example", "null", "",
                                   "http://127.0.0.1:1", "https://" + Host()}) {
    websocket::stream<tcp::socket> ws(Connect());
    Watchdog watchdog(ws.next_layer().native_handle(), std::chrono::seconds(10));
    ws.set_option(websocket::stream_base::decorator([origin](websocket::request_type& request) {
      if (!origin.empty()) request.set(http::field::origin, origin);
    }));
    websocket::response_type response;
    boost::system::error_code ec;
    ws.handshake(response, Host(), "/ws", ec);
    EXPECT_TRUE(ec) << "origin " << origin;
    EXPECT_EQ(response.result_int(), 403) << "origin " << origin;
  }
}

TEST_F(HttpServerTest, ASecondUserIsRefusedBeforeAnyRequest) {
  StartServer({}, [](tcp::socket&) -> std::optional<std::string> {
    return "connection from uid 1001 refused: this router belongs to uid 1000";
  });
  auto response = Get("/", Host());
  EXPECT_EQ(response.result_int(), 403);
  EXPECT_EQ(response.body(), "connection from uid 1001 refused: this router belongs to uid 1000\n");
}

}  // namespace
}  // namespace codeswarm::router::testing
