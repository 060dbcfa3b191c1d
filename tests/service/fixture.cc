#include "service/fixture.h"

#include <stdlib.h>

namespace mk::test {

void ServiceKernel::SetUp() {
  hosted::SystemConfig c;
  c.module_path = {MODKIT_TEST_MODULE_DIR};
  c.static_modules = false;
  sys = std::make_unique<hosted::System>(c);
  Result<module::File*> k = sys->boot();
  ASSERT_TRUE(k) << k.error().message();
}

void ServiceKernel::TearDown() {
  sys.reset();
}

namespace {

struct Params {
  std::vector<const char*> items;
  module::LoadParams get() const { return module::LoadParams{items.data(), items.size()}; }
};

Params params_of(const std::vector<std::string>& p) {
  Params out;
  for (const std::string& s : p)
    out.items.push_back(s.c_str());
  return out;
}

}  // namespace

module::File* ServiceKernel::Load(const std::string& name, const std::vector<std::string>& params) {
  Params p = params_of(params);
  Result<module::File*> f = sys->registry().load_module(
      name.c_str(), module::VersionRange{0, UINT32_MAX, UINT32_MAX}, p.get());
  if (!f) {
    last_error = f.error().message();
    return nullptr;
  }
  return f.value();
}

module::File* ServiceKernel::LoadSource(const std::string& name, const std::string& text,
                                        const std::vector<std::string>& params) {
  std::string o =
      scratch.Compile(kGcc, name + ".c", text, {"-O2", "-fPIC", "-I" MODKIT_TEST_SDK_DIR});
  if (o.empty()) return nullptr;
  std::vector<uint8_t> bytes = ReadBytes(o);
  Params p = params_of(params);
  Result<module::File*> f =
      sys->registry().load_bytes(ByteView(bytes.data(), bytes.size()), name.c_str(), p.get());
  if (!f) {
    last_error = f.error().message();
    return nullptr;
  }
  return f.value();
}

Result<module::UnloadResult> ServiceKernel::Unload(const std::string& module,
                                                   module::UnloadOptions o) {
  return sys->registry().unload_module(module.c_str(), o);
}

int ServiceKernel::Open(const std::string& path, DevfsFile** f, uint32_t flags) {
  return sys->devfs().open(path.c_str(), flags, DevfsCred{0, 0}, f);
}

std::string ServiceKernel::Read(DevfsFile* f, size_t n, uint64_t off) {
  std::string buf(n, '\0');
  int64_t got = sys->devfs().read(f, off, buf.data(), n);
  if (got < 0) return "<errno " + std::to_string(got) + ">";
  buf.resize(static_cast<size_t>(got));
  return buf;
}

int64_t ServiceKernel::Write(DevfsFile* f, const std::string& bytes, uint64_t off) {
  return sys->devfs().write(f, off, bytes.data(), bytes.size());
}

bool ServiceKernel::Exists(const std::string& path) {
  DevfsStat st;
  return sys->devfs().stat(path.c_str(), &st) == 0;
}

std::vector<std::string> ServiceKernel::LogWith(const std::string& needle) {
  std::vector<std::string> out;
  for (const std::string& l : sys->log())
    if (l.find(needle) != std::string::npos) out.push_back(l);
  return out;
}

}  // namespace mk::test
