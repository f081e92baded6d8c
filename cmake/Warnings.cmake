# Compiler warnings applied to every fathom target.
function(fathom_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()
