// Program dispatch (RFC 5531 section 9): decides, for one received record,
// whether the call is denied (RPC version, credentials), refused (program,
// version) or handed to a Program, and builds the reply record.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <span>
#include <variant>

#include "common/result.h"
#include "rpc/message.h"
#include "rpc/program.h"

namespace efs::rpc {

// A call that passed every check and is to be run by `program`.
struct AdmittedCall {
  Program* program = nullptr;
  CallContext ctx;
  std::span<const uint8_t> args;  // points into the record
  // The program's Program::cost() of this call: where the RPC layer runs it.
  CallCost cost = CallCost::may_block;
};

// Either an answer the RPC layer gives itself, or a call for a program.
using Admission = std::variant<ReplyRecord, AdmittedCall>;

class Dispatcher {
 public:
  // Registers a program (not owned; it must outlive the dispatcher). All
  // programs are added before serving starts: lookups take no lock. Fails if
  // the program number is already taken.
  Status<> add(Program& program);
  Program* find(uint32_t prog) const;

  // The synchronous half of dispatch: decodes the call header and
  // credentials and checks program and version. `conn` carries the
  // connection facts (addresses, connection_id), copied into the context.
  // A CallFault means the record cannot be answered: close the connection.
  // An admitted call carries the program's cost() of it.
  Result<Admission, CallFault> admit(std::span<const uint8_t> record,
                                     const CallContext& conn) const;

  // admit() and, for an admitted call, Program::call. An exception escaping
  // a program is a bug: it is logged and answered with SYSTEM_ERR.
  asio::awaitable<Result<ReplyRecord, CallFault>> dispatch(std::span<const uint8_t> record,
                                                           CallContext conn) const;
  // Runs an admitted call (the asynchronous half).
  static asio::awaitable<ReplyRecord> run(AdmittedCall call);

  // Tells every program that a connection went away.
  void connection_closed(uint64_t connection_id) const;

 private:
  std::map<uint32_t, Program*> programs_;
};

}  // namespace efs::rpc
