// Fuzz target: the URI parser and the RFC 3261 s19.1.4 comparison. The input is split at its
// first newline into two URIs; comparison must be symmetric and a URI equal to a copy of itself.
#include "sip/uri.h"

#include <cstdint>
#include <string_view>

namespace {
void require(bool ok) {
    if (!ok) __builtin_trap();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace tandem::sip;
    std::string_view all(reinterpret_cast<const char*>(data), size);
    size_t nl = all.find('\n');
    std::string_view a = all.substr(0, nl);
    std::string_view b = nl == std::string_view::npos ? all : all.substr(nl + 1);
    uri ua, ub;
    bool pa = parse_uri(a, ua);
    bool pb = parse_uri(b, ub);
    if (pa) {
        require(ua.host.size() <= a.size());
        std::string_view v;
        (void)find_uri_param(ua.params, "transport", v);
        uri again;
        require(parse_uri(a, again));
        require(uri_equal(ua, again) == uri_equal(again, ua));
    }
    if (pa && pb) require(uri_equal(ua, ub) == uri_equal(ub, ua));
    require(unescaped_equal(a, a, false));
    return 0;
}
