// The translation unit that builds the precompiled header every CPU test executable reuses
// (tests/CMakeLists.txt, SIMCLR_TEST_PCH): the header itself is the whole content.
