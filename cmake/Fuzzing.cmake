# FATHOM_BUILD_FUZZERS: builds the libFuzzer targets of tests/fuzz. Needs clang; instruments the
# whole build (the library included) for coverage with AddressSanitizer + UndefinedBehaviorSanitizer,
# so use a build folder of its own (see docs/SECURITY.md):
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DFATHOM_BUILD_FUZZERS=ON \
#     -DFATHOM_BUILD_TESTS=OFF -DFATHOM_BUILD_BENCH=OFF -DFATHOM_BUILD_EXAMPLES=OFF
option(FATHOM_BUILD_FUZZERS "Build the libFuzzer targets (clang only; ASan+UBSan everywhere)" OFF)
if(FATHOM_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FATHOM_BUILD_FUZZERS needs clang (configure with CC=clang CXX=clang++)")
  endif()
  if(NOT FATHOM_SANITIZE STREQUAL "")
    message(FATAL_ERROR "FATHOM_BUILD_FUZZERS already implies ASan+UBSan; leave FATHOM_SANITIZE empty")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
