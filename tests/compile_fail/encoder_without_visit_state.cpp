// expect: must satisfy simclr::encoder
// A user encoder with forward, backward, output_dim and parameters but no visit_state: the
// model (whose checkpoints need the state) names the encoder concept at the user's line.
#include <vector>

#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>

struct stateless_encoder {
  using scalar_type = float;
  using backend_type = simclr::cpu_t;
  simclr::tensor<float> forward(const simclr::tensor<float>& x, simclr::mode m);
  simclr::tensor<float> backward(const simclr::tensor<float>& dh);
  simclr::index_t output_dim() const { return 8; }
  std::vector<simclr::parameter<float>> parameters();
};
void f() {
  simclr::model net{stateless_encoder{}, simclr::head::mlp<float>::v1({.in = 8}),
                    simclr::loss::nt_xent<float>(simclr::loss::nt_xent_options{})};
}
