// expect: backend<Backend>|satisfy 'backend'
// The backend parameter must be a tag type; the concept's name is in the error.
#include <simclr/tensor.hpp>

struct not_a_tag {
  int state;
};
void f() { simclr::tensor<float, not_a_tag> t; }
