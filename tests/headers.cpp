// Every header of the library reaches, through its own #include lines (directly or through other
// simclr headers), the standard header of each std:: name it uses. The build compiles every
// header on its own too (tests/CMakeLists.txt, simclr_header_check), but with the standard
// library precompiled, so that check sees simclr's includes only; and a compiler never sees a
// standard header that another standard header happens to bring in. This reads the sources.
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

namespace {

namespace fs = std::filesystem;

// std:: names → the header that declares them. Names declared by several headers (size_t, abs,
// get, …) are left out.
const std::map<std::string_view, std::string_view>& std_header_of() {
  static const std::map<std::string_view, std::string_view> m{
      {"vector", "vector"}, {"string", "string"}, {"to_string", "string"}, {"stoi", "string"},
      {"string_view", "string_view"}, {"span", "span"}, {"dynamic_extent", "span"},
      {"optional", "optional"}, {"nullopt", "optional"}, {"array", "array"}, {"map", "map"},
      {"unordered_map", "unordered_map"}, {"set", "set"}, {"deque", "deque"},
      {"unique_ptr", "memory"}, {"shared_ptr", "memory"}, {"make_unique", "memory"},
      {"make_shared", "memory"}, {"function", "functional"}, {"thread", "thread"},
      {"this_thread", "thread"}, {"mutex", "mutex"}, {"lock_guard", "mutex"},
      {"unique_lock", "mutex"}, {"scoped_lock", "mutex"}, {"condition_variable", "condition_variable"},
      {"atomic", "atomic"}, {"memory_order_relaxed", "atomic"}, {"memory_order_acquire", "atomic"},
      {"memory_order_release", "atomic"}, {"variant", "variant"}, {"visit", "variant"},
      {"tuple", "tuple"}, {"pair", "utility"}, {"move", "utility"}, {"forward", "utility"},
      {"exchange", "utility"}, {"declval", "utility"}, {"swap", "utility"},
      {"index_sequence", "utility"}, {"make_index_sequence", "utility"},
      {"sort", "algorithm"}, {"stable_sort", "algorithm"}, {"fill", "algorithm"},
      {"fill_n", "algorithm"}, {"copy", "algorithm"}, {"copy_n", "algorithm"},
      {"transform", "algorithm"}, {"clamp", "algorithm"}, {"min", "algorithm"}, {"max", "algorithm"},
      {"minmax", "algorithm"}, {"max_element", "algorithm"}, {"min_element", "algorithm"},
      {"find", "algorithm"}, {"find_if", "algorithm"}, {"any_of", "algorithm"},
      {"all_of", "algorithm"}, {"none_of", "algorithm"}, {"reverse", "algorithm"},
      {"shuffle", "algorithm"}, {"equal", "algorithm"}, {"count", "algorithm"},
      {"lower_bound", "algorithm"}, {"upper_bound", "algorithm"}, {"nth_element", "algorithm"},
      {"partial_sort", "algorithm"}, {"accumulate", "numeric"}, {"iota", "numeric"},
      {"inner_product", "numeric"}, {"memcpy", "cstring"}, {"memset", "cstring"},
      {"memcmp", "cstring"}, {"memmove", "cstring"}, {"strlen", "cstring"},
      {"int8_t", "cstdint"}, {"uint8_t", "cstdint"}, {"int16_t", "cstdint"},
      {"uint16_t", "cstdint"}, {"int32_t", "cstdint"}, {"uint32_t", "cstdint"},
      {"int64_t", "cstdint"}, {"uint64_t", "cstdint"}, {"uintptr_t", "cstdint"},
      {"sqrt", "cmath"}, {"exp", "cmath"}, {"log", "cmath"}, {"pow", "cmath"}, {"floor", "cmath"},
      {"ceil", "cmath"}, {"fabs", "cmath"}, {"isfinite", "cmath"}, {"isnan", "cmath"},
      {"tanh", "cmath"}, {"lround", "cmath"}, {"round", "cmath"}, {"expm1", "cmath"},
      {"log1p", "cmath"}, {"cos", "cmath"}, {"sin", "cmath"}, {"fma", "cmath"},
      {"nearbyint", "cmath"}, {"trunc", "cmath"}, {"hypot", "cmath"}, {"erf", "cmath"},
      {"numeric_limits", "limits"}, {"filesystem", "filesystem"}, {"ifstream", "fstream"},
      {"ofstream", "fstream"}, {"fstream", "fstream"}, {"ostringstream", "sstream"},
      {"istringstream", "sstream"}, {"stringstream", "sstream"}, {"cout", "iostream"},
      {"cerr", "iostream"}, {"ostream", "ostream"}, {"chrono", "chrono"},
      {"runtime_error", "stdexcept"}, {"invalid_argument", "stdexcept"},
      {"out_of_range", "stdexcept"}, {"logic_error", "stdexcept"}, {"error_code", "system_error"},
      {"errc", "system_error"}, {"system_error", "system_error"}, {"generic_category", "system_error"},
      {"from_chars", "charconv"}, {"to_chars", "charconv"}, {"initializer_list", "initializer_list"},
      {"same_as", "concepts"}, {"convertible_to", "concepts"}, {"integral", "concepts"},
      {"floating_point", "concepts"}, {"derived_from", "concepts"}, {"invocable", "concepts"},
      {"regular_invocable", "concepts"}, {"printf", "cstdio"}, {"fprintf", "cstdio"},
      {"snprintf", "cstdio"}, {"FILE", "cstdio"}, {"fopen", "cstdio"}, {"fclose", "cstdio"},
      {"fwrite", "cstdio"}, {"fread", "cstdio"}, {"fflush", "cstdio"}, {"getenv", "cstdlib"},
      {"abort", "cstdlib"}, {"exit", "cstdlib"}, {"strtol", "cstdlib"}, {"strtod", "cstdlib"},
      {"bit_cast", "bit"}, {"popcount", "bit"}, {"countr_zero", "bit"}, {"bit_width", "bit"},
      {"future", "future"}, {"async", "future"}, {"promise", "future"}, {"mt19937", "random"},
      {"mt19937_64", "random"}, {"exception_ptr", "exception"},
      {"current_exception", "exception"}, {"rethrow_exception", "exception"},
      {"exception", "exception"}, {"terminate", "exception"}, {"bad_alloc", "new"},
      {"align_val_t", "new"}, {"launder", "new"}, {"is_same_v", "type_traits"},
      {"decay_t", "type_traits"}, {"remove_cvref_t", "type_traits"}, {"enable_if_t", "type_traits"},
      {"conditional_t", "type_traits"}, {"is_trivially_copyable_v", "type_traits"},
      {"is_floating_point_v", "type_traits"}, {"is_integral_v", "type_traits"},
      {"integral_constant", "type_traits"}, {"true_type", "type_traits"},
      {"false_type", "type_traits"}, {"invoke_result_t", "type_traits"},
      {"remove_reference_t", "type_traits"}, {"remove_const_t", "type_traits"},
      {"is_const_v", "type_traits"}, {"type_identity_t", "type_traits"}};
  return m;
}

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The source with comments, string and character literals blanked out.
std::string without_comments_and_literals(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s.compare(i, 2, "/*") == 0) {
      const auto end = s.find("*/", i + 2);
      i = end == std::string::npos ? s.size() : end + 2;
    } else if (s[i] == '"' && i > 0 && s[i - 1] == 'R' && (i < 2 || !is_ident_char(s[i - 2]))) {
      const auto open = s.find('(', i);
      const std::string close = ")" + s.substr(i + 1, open - i - 1) + "\"";
      const auto end = s.find(close, open);
      i = end == std::string::npos ? s.size() : end + close.size();
      out += "\"\"";
    } else if (s[i] == '"' || (s[i] == '\'' && (i == 0 || !is_ident_char(s[i - 1])))) {
      const char q = s[i++];
      while (i < s.size() && s[i] != q) i += s[i] == '\\' ? 2 : 1;
      ++i;
      out += "\"\"";
    } else {
      out += s[i++];
    }
  }
  return out;
}

struct header_facts {
  std::set<std::string> standard;  // <vector>, <cmath>, …: names without a '.' or '/'
  std::set<std::string> simclr;    // <simclr/…>
  std::map<std::string, std::string> uses;  // standard header → a std:: name that needs it
};

header_facts read_header_facts(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  header_facts h;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("#include <");
    if (at == std::string::npos || line.find_first_not_of(" \t") != at) continue;
    const auto end = line.find('>', at);
    if (end == std::string::npos) continue;
    const std::string name = line.substr(at + 10, end - at - 10);
    if (name.rfind("simclr/", 0) == 0)
      h.simclr.insert(name);
    else if (name.find_first_of("./") == std::string::npos)
      h.standard.insert(name);
  }
  const std::string code = without_comments_and_literals(text);
  for (auto at = code.find("std::"); at != std::string::npos; at = code.find("std::", at + 5)) {
    if (at > 0 && (is_ident_char(code[at - 1]) || code[at - 1] == ':')) continue;
    std::size_t e = at + 5;
    while (e < code.size() && is_ident_char(code[e])) ++e;
    const auto it = std_header_of().find(std::string_view(code).substr(at + 5, e - at - 5));
    if (it != std_header_of().end()) h.uses.emplace(std::string(it->second), std::string(it->first));
  }
  return h;
}

}  // namespace

TEST_CASE("headers: each reaches the standard header of every std:: name it uses") {
  const fs::path root = SIMCLR_INCLUDE_DIR;
  std::map<std::string, header_facts> headers;
  for (const auto& e : fs::recursive_directory_iterator(root / "simclr")) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".hpp" || ext == ".cuh"))
      headers.emplace(fs::relative(e.path(), root).generic_string(), read_header_facts(e.path()));
  }
  REQUIRE(headers.size() > 100);
  // The standard headers a header reaches through its own includes and simclr's.
  const auto reached = [&](const std::string& start) {
    std::set<std::string> seen{start}, out;
    std::vector<std::string> todo{start};
    while (!todo.empty()) {
      const auto it = headers.find(todo.back());
      todo.pop_back();
      if (it == headers.end()) continue;
      out.insert(it->second.standard.begin(), it->second.standard.end());
      for (const auto& s : it->second.simclr)
        if (seen.insert(s).second) todo.push_back(s);
    }
    return out;
  };
  std::size_t checked = 0;
  for (const auto& header : headers) {
    const auto& name = header.first;
    const auto& h = header.second;
    if (!name.ends_with(".hpp")) continue;  // .cuh: reached through, not checked (nvcc's own set)
    const auto have = reached(name);
    for (const auto& use : h.uses) {
      const auto& need = use.first;
      const auto& because = use.second;
      INFO(name, " uses std::", because, " but reaches no #include <", need, ">");
      CHECK(have.count(need) == 1);
    }
    ++checked;
  }
  CHECK(checked > 100);
}

TEST_CASE("headers: the reader sees through comments and literals") {
  const auto c = without_comments_and_literals("a // std::vector\nb /* std::map */ \"std::set\" 'x' R\"d(std::span)d\" 1'000 c");
  CHECK(c.find("std::") == std::string::npos);
  CHECK(c.find('a') != std::string::npos);
  CHECK(c.find('c') != std::string::npos);
}

TEST_CASE("headers: backend/ includes nothing above it; no CUDA header includes a CPU one") {
  // docs/design.md: backend/ is the ground floor (backend/, config.hpp and error.hpp only), and
  // what both backends of an area share sits beside its kernels.hpp, never in cpu/.
  const fs::path root = SIMCLR_INCLUDE_DIR;
  std::size_t backend_headers = 0, cuda_headers = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "simclr")) {
    if (!e.is_regular_file()) continue;
    const std::string name = fs::relative(e.path(), root).generic_string();
    const bool in_backend = name.starts_with("simclr/backend/");
    const bool cuda = e.path().extension() == ".cuh";
    if (!in_backend && !cuda) continue;
    backend_headers += in_backend ? 1 : 0;
    cuda_headers += cuda ? 1 : 0;
    for (const auto& inc : read_header_facts(e.path()).simclr) {
      INFO(name, " includes <", inc, ">");
      if (in_backend)
        CHECK((inc.starts_with("simclr/backend/") || inc == "simclr/config.hpp" ||
               inc == "simclr/error.hpp"));
      if (cuda) CHECK(inc.find("/cpu/") == std::string::npos);
    }
  }
  CHECK(backend_headers > 10);
  CHECK(cuda_headers > 20);
}
