#include "kernel_service.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "hosted/symbols.h"
#include "module/registry.h"

// GNU ld's bounds of this program's image: file 0's address and size in stat.
extern "C" {
extern char __executable_start[];
extern char _end[];
}

namespace modkitd {

namespace control = mk::hosted::control;
using control::error_reply;
using mk::module::File;
using mk::module::Module;
using mk::module::UnloadOptions;

struct KernelService::FileInfo {
  struct Mod {
    std::string name;
    uint32_t version;
    std::string state;
    uint32_t refs;
  };
  uint32_t id;
  std::string name;
  std::string state;
  uint32_t holders;
  bool autoloaded;
  bool deferred;
  uint64_t address;
  uint64_t size;
  std::vector<uint32_t> uses;
  std::vector<Mod> modules;
};

KernelService::KernelService(mk::hosted::DaemonConfig config, std::string config_origin,
                             std::function<void(const std::string&)> echo)
    : config_(std::move(config)), origin_(std::move(config_origin)), echo_(std::move(echo)) {
  mk::hosted::SystemConfig sc;
  sc.module_path = config_.module_path;
  sc.kpi_version = config_.kpi_version;
  sc.signature_policy = config_.signature_policy;
  sc.trusted_keys = config_.trusted_keys;
  sc.static_modules = true;
  sc.log = [this](const std::string& line) { on_log(line); };
  system_ = std::make_unique<mk::hosted::System>(std::move(sc));
}

KernelService::~KernelService() {
  shutdown();
}

void KernelService::on_log(const std::string& line) {
  if (echo_) echo_(line);
  {
    std::lock_guard<std::mutex> g(log_mu_);
    ++log_generation_;
  }
  log_cv_.notify_all();
}

bool KernelService::boot(std::string* err) {
  log("modkitd: pid " + std::to_string(getpid()) + ", config " + origin_);
  std::string path;
  for (const std::string& d : config_.module_path)
    path += (path.empty() ? "" : ":") + d;
  log("modkitd: module_path " + (path.empty() ? std::string("(empty: load by path only)") : path));
  log("modkitd: kpi_version " + std::to_string(config_.kpi_version));
  mk::Result<File*> k = system_->boot();
  if (!k) {
    *err = std::string("boot: ") + k.error().message();
    return false;
  }
  booted_ = true;
  // After the boot: it has read the trusted keys (or failed, naming the file).
  if (config_.signature_policy != mk::hosted::SignaturePolicy::kOff) {
    std::string keys;
    for (const mk::hosted::PublicKey& key : system_->signatures().trusted())
      keys += (keys.empty() ? "" : ", ") + mk::hosted::hex(key.id) + " (" + key.origin + ")";
    log(std::string("modkitd: signature_policy ") +
        mk::hosted::signature_policy_name(config_.signature_policy) +
        ", trusted keys: " + (keys.empty() ? std::string("none") : keys));
  }
  preload();
  add_config_devices();
  mount_devfs();
  return true;
}

// devfs is mounted after the preloads, so their devices are there from the
// first look; a mount that fails is logged and the kernel runs without it.
void KernelService::mount_devfs() {
  if (config_.devfs.empty()) return;
  if (mkdir(config_.devfs.c_str(), 0755) != 0 && errno != EEXIST) {
    log("devfs: cannot create " + config_.devfs + ": " + strerror(errno) + "; devfs not mounted");
    return;
  }
  std::string err;
  mk::hosted::FuseDevfsOptions o;
  o.allow_other = geteuid() == 0;  // the kernel then checks each node's mode
  devfs_mount_ = mk::hosted::FuseDevfs::mount(system_->devfs(), config_.devfs, o, &err);
  if (devfs_mount_ == nullptr) {
    log(err + "; the kernel runs without it");
    return;
  }
  log("devfs: mounted at " + config_.devfs);
}

void KernelService::preload() {
  for (const mk::hosted::Preload& p : config_.preload) {
    std::string who = "preload " + p.name + " (" + p.origin + ")";
    json params = json::object();
    for (const auto& [k, v] : p.params)
      params[k] = v;
    json reply = do_load(json{{"verb", "load"}, {"name", p.name}, {"params", params}});
    if (!reply.value("ok", false)) {
      log(who + ": failed: " + reply.value("error", std::string("?")));
      continue;
    }
    std::string deps;
    std::string file = reply["file"].value("name", "?");
    for (const json& f : reply["loaded"])
      if (f.value("name", "") != file) deps += (deps.empty() ? "" : ", ") + f.value("name", "?");
    log(who + ": loaded " + file + (deps.empty() ? "" : " with its dependencies " + deps));
  }
}

std::vector<KernelService::FileInfo> KernelService::snapshot() {
  std::vector<FileInfo> out;
  system_->registry().for_each_file(
      [](void* ctx, const File& f) {
        auto* v = static_cast<std::vector<FileInfo>*>(ctx);
        FileInfo i;
        i.id = f.id;
        i.name = f.name;
        i.state = mk::module::state_name(f.state);
        i.holders = f.holders;
        i.autoloaded = f.autoloaded;
        i.deferred = f.deferred;
        i.address = 0;
        i.size = 0;
        if (f.linked != nullptr) {
          for (const mk::link::Block& b : f.linked->blocks)
            if (b.size != 0 && (i.address == 0 || b.base < i.address)) i.address = b.base;
          i.size = f.linked->memory();
        } else if (f.id == 0) {
          i.address = reinterpret_cast<uintptr_t>(__executable_start);
          i.size = static_cast<uint64_t>(_end - __executable_start);
        }
        for (const File* u : f.uses)
          i.uses.push_back(u->id);
        for (const Module* m : f.modules)
          i.modules.push_back({m->name, m->version, mk::module::state_name(m->state), m->refs});
        v->push_back(std::move(i));
      },
      &out);
  return out;
}

json KernelService::file_json(const FileInfo& f) {
  json mods = json::array();
  for (const FileInfo::Mod& m : f.modules)
    mods.push_back(
        {{"name", m.name}, {"version", m.version}, {"state", m.state}, {"refs", m.refs}});
  return json{{"id", f.id},
              {"name", f.name},
              {"state", f.state},
              {"refs", 1 + f.holders},
              {"holders", f.holders},
              {"address", f.address},
              {"size", f.size},
              {"autoloaded", f.autoloaded},
              {"deferred", f.deferred},
              {"uses", f.uses},
              {"modules", mods}};
}

std::optional<json> KernelService::handle(const json& r, control::Connection* conn) {
  std::string verb = r["verb"].get<std::string>();
  if (verb == "ping")
    return json{
        {"ok", true}, {"protocol", control::kProtocol}, {"pid", getpid()}, {"uid", geteuid()}};
  if (verb == "help") return json{{"ok", true}, {"verbs", control::verb_help()}};
  if (verb == "stat") return do_stat();
  if (verb == "log") return do_log(r, conn);
  if (verb == "load") return do_load(r);
  if (verb == "unload") return do_unload(r);
  if (verb == "sym") return do_sym(r);
  if (verb == "params") return do_params(r);
  if (verb == "devices") return do_devices();
  if (verb == "device_add") return do_device_add(r);
  if (verb == "device_remove") return do_device_remove(r);
  if (verb == "shutdown") {
    std::vector<std::string> lines = shutdown();
    if (on_shutdown) on_shutdown();
    return json{{"ok", true}, {"log", lines}};
  }
  std::string known;
  json help = control::verb_help();  // items() needs it alive
  for (auto& [k, v] : help.items())
    known += (known.empty() ? "" : ", ") + k;
  return error_reply("unknown_verb", "unknown verb \"" + verb + "\" (known: " + known + ")");
}

json KernelService::do_stat() {
  json files = json::array();
  for (const FileInfo& f : snapshot())
    files.push_back(file_json(f));
  return json{{"ok", true}, {"files", files}};
}

json KernelService::do_load(const json& r) {
  bool has_name = r.contains("name"), has_path = r.contains("path");
  if (has_name == has_path)
    return error_reply("bad_request", "load takes a module \"name\" or a file \"path\"");
  std::string target = r[has_name ? "name" : "path"].get<std::string>();
  if (target.empty() || target.find('\0') != std::string::npos || target.size() > 4096)
    return error_reply("bad_request", "load: a name or path of 1 to 4096 bytes");
  // Parameters for the named file: {"k": "v"} as k=v items (numbers and
  // booleans as JSON writes them).
  std::vector<std::string> items;
  if (r.contains("params")) {
    if (!r["params"].is_object())
      return error_reply("bad_request", "load: \"params\" is an object of name: value");
    for (auto& [k, v] : r["params"].items())
      items.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  }
  std::vector<const char*> argv;
  for (const std::string& i : items)
    argv.push_back(i.c_str());
  mk::module::LoadParams params{argv.data(), argv.size()};
  std::lock_guard<std::mutex> g(change_mu_);
  if (down_) return error_reply("shutting_down", "the kernel is shutting down");
  std::set<uint32_t> before;
  for (const FileInfo& f : snapshot())
    before.insert(f.id);
  mk::Result<File*> loaded =
      has_name ? system_->registry().load_module(
                     target.c_str(), mk::module::VersionRange{0, UINT32_MAX, UINT32_MAX}, params)
               : system_->registry().load_path(target.c_str(), params);
  if (!loaded) return error_reply(loaded.error());
  system_->refresh_ksyms();
  uint32_t id = loaded.value()->id;
  json reply = {{"ok", true}, {"loaded", json::array()}};
  for (const FileInfo& f : snapshot()) {
    if (f.id == id) reply["file"] = file_json(f);
    if (before.count(f.id) == 0) reply["loaded"].push_back(file_json(f));
  }
  return reply;
}

// params {"module": M?, "set": {"name": "value"}?} -> {"tunables": [{"module",
// "name", "type", "value", "default", "description"}]} (of M, or of every
// module). Settings apply in order; the first refused one ends the request.
json KernelService::do_params(const json& r) {
  std::string module = r.value("module", std::string());
  mk::service::Tunables& t = system_->services().tunables();
  if (r.contains("set")) {
    if (module.empty()) return error_reply("bad_request", "params: \"set\" needs a \"module\"");
    if (!r["set"].is_object())
      return error_reply("bad_request", "params: \"set\" is an object of name: value");
    size_t done = 0;
    for (auto& [k, v] : r["set"].items()) {
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      mk::Result<void> s = t.set(module.c_str(), k.c_str(), value.c_str());
      if (!s) {
        mk::Error e = s.error();
        if (done > 0) e.prefix("(the %zu setting(s) before it were applied) ", done);
        return error_reply(e);
      }
      ++done;
    }
    log("params: " + module + ": " + r["set"].dump());
  }
  json rows = json::array();
  t.for_each(
      module.empty() ? nullptr : module.c_str(),
      [](void* ctx, const mk::service::TunableInfo& i) {
        static_cast<json*>(ctx)->push_back({{"module", i.module},
                                            {"name", i.name},
                                            {"type", mk::service::tunable_type_name(i.type)},
                                            {"value", i.value},
                                            {"default", i.def},
                                            {"description", i.description}});
      },
      &rows);
  if (!module.empty() && rows.empty() && system_->registry().find_module(module.c_str()) == nullptr)
    return error_reply("not_found", "module " + module + " is not loaded");
  return json{{"ok", true}, {"tunables", rows}};
}

json KernelService::do_unload(const json& r) {
  if (!r.contains("name")) return error_reply("bad_request", "unload takes a module \"name\"");
  std::string name = r["name"].get<std::string>();
  UnloadOptions o;
  std::string policy = r.value("policy", std::string("refuse"));
  if (policy == "wait") {
    o.policy = UnloadOptions::Policy::kWait;
  } else if (policy == "defer") {
    o.policy = UnloadOptions::Policy::kDefer;
  } else if (policy != "refuse") {
    return error_reply("bad_request",
                       "unload: policy is refuse, wait or defer, not \"" + policy + "\"");
  }
  uint64_t ms;
  std::string why;
  if (!control::unsigned_arg(r, "timeout_ms", 0, &ms, &why))
    return error_reply("bad_request", "unload: " + why);
  if (ms > 24ull * 3600 * 1000) return error_reply("bad_request", "unload: timeout_ms over a day");
  o.timeout_ns = ms * 1000000;
  o.cascade = r.value("cascade", false);
  o.force = r.value("force", false);
  std::lock_guard<std::mutex> g(change_mu_);
  if (down_) return error_reply("shutting_down", "the kernel is shutting down");
  std::vector<FileInfo> before = snapshot();
  mk::Result<mk::module::UnloadResult> u = system_->registry().unload_module(name.c_str(), o);
  if (!u) return error_reply(u.error());
  system_->refresh_ksyms();
  std::set<uint32_t> after;
  for (const FileInfo& f : snapshot())
    after.insert(f.id);
  json gone = json::array();  // dependents go first: newest first
  for (auto f = before.rbegin(); f != before.rend(); ++f)
    if (after.count(f->id) == 0) gone.push_back(f->name);
  return json{{"ok", true},
              {"result", u.value() == mk::module::UnloadResult::kDone ? "done" : "deferred"},
              {"unloaded", gone}};
}

// The symbol queries must not run while a load or unload changes the
// export index or the address map (hosted/symbols.h): under change_mu_.
json KernelService::do_sym(const json& r) {
  int asked = r.contains("name") + r.contains("address") + r.contains("ksyms");
  if (asked != 1)
    return error_reply("bad_request", "sym takes one of \"name\", \"address\" or \"ksyms\"");
  std::lock_guard<std::mutex> g(change_mu_);
  if (down_) return error_reply("shutting_down", "the kernel is shutting down");
  if (r.contains("name")) {
    json symbols = json::array();
    for (const mk::hosted::SymbolInfo& s :
         mk::hosted::sym_lookup(*system_, r["name"].get<std::string>()))
      symbols.push_back(control::symbol_json(s));
    return json{{"ok", true}, {"symbols", symbols}};
  }
  if (r.contains("address")) {
    uint64_t address;
    std::string why;
    if (!control::unsigned_arg(r, "address", 0, &address, &why))
      return error_reply("bad_request", "sym: " + why);
    mk::hosted::AddressInfo a;
    bool found = mk::hosted::addr_lookup(*system_, address, &a);
    json reply = control::address_json(a, found);
    reply["ok"] = true;
    return reply;
  }
  std::string path = r["ksyms"].get<std::string>();
  if (path.empty() || path[0] != '/')
    return error_reply("bad_request", "sym: the ksyms path must be absolute");
  std::string err;
  if (!mk::hosted::write_ksyms_file(*system_, path, &err)) return error_reply("io", err);
  return json{{"ok", true}, {"path", path}};
}

std::optional<json> KernelService::do_log(const json& r, control::Connection* conn) {
  uint64_t since;
  std::string why;
  if (!control::unsigned_arg(r, "since", 0, &since, &why))
    return error_reply("bad_request", "log: " + why);
  size_t next = since;
  bool follow = r.value("follow", false);
  if (follow && conn == nullptr)
    return error_reply("unsupported", "log --follow is for the control socket");
  bool first = true;
  for (;;) {
    uint64_t generation;
    bool closed;
    {
      std::lock_guard<std::mutex> g(log_mu_);
      generation = log_generation_;
      closed = log_closed_;  // read before the copy: when set, the copy has every line
    }
    std::vector<std::string> all = system_->log();
    json lines = json::array();
    for (size_t i = std::min(next, all.size()); i < all.size(); ++i)
      lines.push_back(all[i]);
    next = std::max(next, all.size());
    json reply = {{"ok", true}, {"lines", lines}, {"next", next}};
    if (!follow) return reply;
    if (first || !lines.empty()) {
      if (!conn->send(reply)) return std::nullopt;
      first = false;
    }
    if (closed) return std::nullopt;
    std::unique_lock<std::mutex> g(log_mu_);
    log_cv_.wait(g, [&] { return log_generation_ != generation || log_closed_; });
  }
}

std::vector<std::string> KernelService::shutdown() {
  std::lock_guard<std::mutex> g(change_mu_);
  if (!down_ && booted_) {
    down_ = true;
    size_t from = system_->log().size();
    log("modkitd: shutting down");
    system_->shutdown();
    if (devfs_mount_ != nullptr) {
      devfs_mount_->unmount();
      log("devfs: unmounted " + config_.devfs);
      devfs_mount_.reset();
    }
    // A file whose device was open is still loaded, left to its last close;
    // with the mount gone nobody can close it but us.
    system_->revoke_held_opens();
    log("modkitd: down");
    std::vector<std::string> all = system_->log();
    shutdown_log_.assign(all.begin() + static_cast<ptrdiff_t>(std::min(from, all.size())),
                         all.end());
    {
      std::lock_guard<std::mutex> lg(log_mu_);
      log_closed_ = true;
    }
    log_cv_.notify_all();
  }
  return shutdown_log_;
}

}  // namespace modkitd
