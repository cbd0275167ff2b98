# simclr_header_check_sources(<var> <dir> <ext> <header>...): one translation unit per public
# header, in <dir> and named after it with <ext>, that includes it twice — it compiles on its
# own and its include guard holds. Used by tests/header_check (.hpp) and tests/ (.cuh).
function(simclr_header_check_sources var dir ext)
  set(tus "")
  foreach(h IN LISTS ARGN)
    string(MAKE_C_IDENTIFIER "${h}" id)
    set(tu "${dir}/${id}.${ext}")
    file(CONFIGURE OUTPUT "${tu}" CONTENT "#include <${h}>\n#include <${h}>  // and twice\n")
    list(APPEND tus "${tu}")
  endforeach()
  set(${var} ${tus} PARENT_SCOPE)
endfunction()
