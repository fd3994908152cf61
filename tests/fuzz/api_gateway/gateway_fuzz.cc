// libFuzzer target: bytes as received on an API connection go through the
// HTTP/1.1 parser and every complete request through api::Gateway::handle
// (EFS rest-json, KMS JSON 1.1, EC2 query, STS) backed by the real EFS model,
// KMS key store and network model over SQLite ($FUZZ_GATEWAY_DIR), the path `aws efs ...` takes; every
// response is serialized as the server would send it.
// Build and run with tests/fuzz/api_gateway/fuzz.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "api/ec2_query.h"
#include "api/gateway.h"
#include "api/json_rpc.h"
#include "api/model.h"
#include "api/request_context.h"
#include "api/rest_json.h"
#include "common/clock.h"
#include "common/log.h"
#include "ec2/network.h"
#include "efs/service.h"
#include "http/parser.h"
#include "http/response.h"
#include "kms/service.h"
#include "meta/db.h"

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "gateway_fuzz: %s\n", what);
  std::abort();
}

struct World {
  std::unique_ptr<efs::meta::Db> db;
  std::unique_ptr<efs::ec2::Network> network;
  std::unique_ptr<efs::Service> service;
  std::unique_ptr<efs::api::RestJsonService> efs_api;
  std::unique_ptr<efs::api::Ec2QueryService> ec2_api;
  std::unique_ptr<efs::kms::Service> kms;
  std::unique_ptr<efs::api::JsonRpcService> kms_api;
  std::unique_ptr<efs::api::Gateway> gateway;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    spdlog::set_level(spdlog::level::off);
    const char* env = std::getenv("FUZZ_GATEWAY_DIR");
    std::string dir = env ? env : "/tmp/fuzz-gateway-data-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    auto db = efs::meta::Db::open(dir + "/meta.db");
    if (!db) die("cannot open the db");
    w->db = std::move(*db);
    auto network = efs::ec2::Network::open(*w->db);
    if (!network) die("cannot open the network model");
    w->network = std::move(*network);
    // No data plane: file systems exist only in the model.
    efs::DataPlane plane;
    plane.file_system_created = [](const std::string&) {};
    plane.file_system_deleted = [](const std::string&) {};
    plane.mount_targets_changed = [] {};
    plane.metered_size = [](const std::string&) { return efs::MeteredSize{6144, 6144, 0, 0}; };
    efs::Service::Options opts;
    auto service = efs::Service::open(*w->db, *w->network, efs::Clock::global(), opts, plane);
    if (!service) die("cannot open the EFS model");
    w->service = std::move(*service);
    w->efs_api = std::make_unique<efs::api::RestJsonService>(efs::api::efs_model());
    for (auto& [name, op] : w->service->operations()) w->efs_api->add(name, op);
    w->ec2_api = std::make_unique<efs::api::Ec2QueryService>(*w->network);
    auto kms = efs::kms::Service::open(*w->db, efs::Clock::global(), dir + "/kms-master.key");
    if (!kms) die("cannot open KMS");
    w->kms = std::move(*kms);
    w->kms_api = std::make_unique<efs::api::JsonRpcService>(efs::api::kms_model());
    for (auto& [name, op] : w->kms->operations()) w->kms_api->add(name, op);
    w->gateway = std::make_unique<efs::api::Gateway>(*w->efs_api, *w->ec2_api, w->kms_api.get());
    return w;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  World& w = world();
  if (size == 0) return 0;
  // Byte 0 picks how the rest is cut into reads (as tests/fuzz/http does).
  std::size_t step = 1 + data[0] % 64;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  efs::http::RequestParser parser(efs::http::ParserLimits{8192, 65536});
  for (std::size_t i = 0; i <= wire.size(); i += step) {
    if (i < wire.size()) parser.feed(wire.substr(i, step));
    for (;;) {
      auto status = parser.parse();
      if (status == efs::http::RequestParser::Status::kError) return 0;
      if (status != efs::http::RequestParser::Status::kComplete) break;
      efs::http::Request request = parser.take_request();
      auto ctx = efs::api::request_context(request, "us-east-1", "123456789012");
      efs::http::Response response = w.gateway->handle(request, ctx);
      // Every answer is an HTTP status a client understands.
      if (response.status < 200 || response.status > 599) die("response status out of range");
      (void)efs::http::serialize_response(response, parser.keep_alive(), request.method == "HEAD");
    }
  }
  return 0;
}
