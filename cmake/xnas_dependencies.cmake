# Finds xnas's dependencies; shared by the build tree and the installed xnasConfig.cmake so the
# two cannot drift. Everything comes from Debian packages (cmake/setup.sh installs them).
include(CMakeFindDependencyMacro)
find_dependency(xtl)
find_dependency(xsimd)
find_dependency(xtensor)
find_dependency(xtensor-blas)
find_dependency(ZLIB)
find_dependency(Threads)
# OpenBLAS by name: xnas sets its thread count per candidate (openblas_set_num_threads).
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
endif()
find_dependency(BLAS)
find_dependency(LAPACK)
