"""The ``Models`` registry: published architectures, each with its source.

Transformers store architecture numbers only (their costs are derived by equations); CNNs store
their published parameter and multiply-accumulate totals. Entries are built on first access.
"""
from __future__ import annotations

from ..core.references import DUBEY_2024, cite
from ..core.registry import Registry
from ..core.sources import Source, Sourced, derived
from .cnn import CNNWorkload
from .transformer import TransformerWorkload

Models = Registry("model")

# ---------------------------------------------------------------- sources
LLAMA3_8B = cite(DUBEY_2024, "Table 3 (8B: 32 layers, width 4096, FFN 14336, 32 heads, 8 KV heads); vocabulary "
                           "128,256 and 8,192-token context from the released config.json (meta-llama/Meta-Llama-3-8B)")
LLAMA3_70B = cite(DUBEY_2024, "Table 3 (70B: 80 layers, width 8192, FFN 28672, 64 heads, 8 KV heads); vocabulary "
                            "128,256 and 8,192-token context from the released config.json "
                            "(meta-llama/Meta-Llama-3-70B)")
LLAMA3_405B = cite(DUBEY_2024, "Table 3 (405B: 126 layers, width 16384, FFN 53248, 128 heads, 8 KV heads; 128K "
                             "context); vocabulary 128,256 from the released config.json (meta-llama/Llama-3.1-405B)")
LLAMA2_70B = Source("H. Touvron et al. (Meta), 'Llama 2: Open Foundation and Fine-Tuned Chat Models'", kind="paper",
                    year=2023, url="arXiv:2307.09288",
                    locator="Sec. 2.2 and Table 1 (4k context, GQA for 70B); 80 layers, width 8192, FFN 28672, "
                            "64 heads, 8 KV heads, vocabulary 32,000 from the released config.json "
                            "(meta-llama/Llama-2-70b-hf)")
GPT3 = Source("T. Brown et al., 'Language Models are Few-Shot Learners', NeurIPS", kind="paper", year=2020,
              url="arXiv:2005.14165",
              locator="Table 2.1 (GPT-3 175B: 96 layers, d_model 12288, 96 heads, d_head 128, context 2048); "
                      "Sec. 2.1 (d_ff = 4 d_model, GPT-2 architecture with learned positions; vocabulary 50,257 "
                      "of the GPT-2 BPE)")
GPT2 = Source("A. Radford et al. (OpenAI), 'Language Models are Unsupervised Multitask Learners'", kind="report",
              year=2019, locator="Table 2 (smallest model: 12 layers, d_model 768); vocabulary 50,257 and "
                                 "1,024 positions, Sec. 2.3; released config.json (openai-community/gpt2)")
MIXTRAL = Source("A. Q. Jiang et al. (Mistral AI), 'Mixtral of Experts'", kind="paper", year=2024,
                 url="arXiv:2401.04088",
                 locator="Table 1 (dim 4096, 32 layers, head_dim 128, hidden_dim 14336, 32 heads, 8 KV heads, "
                         "context 32768, vocabulary 32000, 8 experts, top-2); Sec. 2: 47B total, 13B active")
BERT = Source("J. Devlin et al., 'BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding', "
              "NAACL", kind="paper", year=2019, url="arXiv:1810.04805",
              locator="Sec. 3 (BERT-Base: L=12, H=768, A=12, 110M parameters; FFN 4H; 512 positions); "
                      "vocabulary 30,522 from the released config (bert-base-uncased)")
OPT = Source("S. Zhang et al. (Meta), 'OPT: Open Pre-trained Transformer Language Models'", kind="paper", year=2022,
             url="arXiv:2205.01068",
             locator="Table 1 (13B: 40 layers, 40 heads, d_model 5120); 2048-token context; vocabulary 50,272 "
                     "and tied embeddings from the released config.json (facebook/opt-13b)")
TORCHVISION_RESNET50 = Source(
    "torchvision model docs, ResNet50_Weights.IMAGENET1K_V1 (He et al. 2016, 'Deep Residual Learning')",
    kind="report", year=2022, locator="weights table: 25,557,032 params, 4.09 GFLOPS (multiply-accumulates) at "
                                      "3x224x224", url="https://pytorch.org/vision/stable/models/resnet.html")
TORCHVISION_MOBILENETV2 = Source(
    "torchvision model docs, MobileNet_V2_Weights.IMAGENET1K_V1 (Sandler et al. 2018, 'MobileNetV2')",
    kind="report", year=2022, locator="weights table: 3,504,872 params, 0.30 GFLOPS (multiply-accumulates) at "
                                      "3x224x224", url="https://pytorch.org/vision/stable/models/mobilenetv2.html")
MLPERF_TINY = Source(
    "C. Banbury et al., 'MLPerf Tiny Benchmark', NeurIPS Datasets and Benchmarks; mlcommons/tiny_results_v0.5 "
    "closed reference submission", kind="benchmark", year=2021,
    locator="v0.5 reference models: KWS DS-CNN 2.66M MACs; VWW MobileNetV1 0.25x at 96x96, about 7.5M MACs")
RESNET50_ACT = derived("ResNet-50 largest activation",
                       "He et al. 2016, Table 1: conv1 output 112x112x64 = conv2_x output 56x56x256 = 802,816 "
                       "elements (largest single feature map at 224x224)")
MOBILENETV2_ACT = derived("MobileNetV2 largest activation",
                          "Sandler et al. 2018, Table 2: the second bottleneck expands the 112x112x16 input by t=6 "
                          "to 112x112x96 = 1,204,224 elements before its stride-2 depthwise conv")
DSCNN_PARAMS = derived(
    "DS-CNN (MLPerf Tiny KWS) parameter count",
    "counted from the DS-CNN-S architecture of Zhang et al. 2017 ('Hello Edge', arXiv:1711.07128) used by "
    "MLPerf Tiny (input 49x10x1, 12 classes): conv 10x4x1x64 + 64 = 2,624; 4 x (depthwise 3x3x64 + 64 = 640, "
    "pointwise 64x64 + 64 = 4,160); dense 64x12 + 12 = 780; total 22,604 with batch norm folded. The same "
    "layer shapes give 2,656,768 MACs, matching the published 2.66M")
DSCNN_ACT = derived("DS-CNN largest activation",
                    "every DS-CNN-S feature map is 25x5x64 = 8,000 elements (stride-2 first conv on 49x10)")
VWW_PARAMS = derived(
    "MobileNetV1 0.25x (MLPerf Tiny VWW, 96x96x3, 2 classes) parameter count",
    "counted from Howard et al. 2017 (arXiv:1704.04861) Table 1 at width 0.25 (channels 8, 16, 32, 32, 64, 64, "
    "128 x6, 256, 256): 208,114 conv and dense weights (incl. the 2 dense biases) + 2,736 folded batch-norm "
    "biases = 210,850. The same layer shapes give 7,489,664 MACs at 96x96, matching the published ~7.5M")
VWW_ACT = derived("MobileNetV1 0.25x largest activation",
                  "first pointwise conv output at 96x96 input: 48x48x16 = 36,864 elements")


def _t(name, source, **arch):
    return lambda: TransformerWorkload(name=name, source=source, **arch)


Models.register("Llama3_8B", factory=_t(
    "Llama-3-8B", LLAMA3_8B, num_layers=32, hidden_size=4096, num_heads=32, num_kv_heads=8, ffn_hidden_size=14336,
    vocab_size=128256, seq_len=8192, gated_ffn=True))
Models.register("Llama3_70B", factory=_t(
    "Llama-3-70B", LLAMA3_70B, num_layers=80, hidden_size=8192, num_heads=64, num_kv_heads=8, ffn_hidden_size=28672,
    vocab_size=128256, seq_len=8192, gated_ffn=True))
Models.register("Llama3_405B", factory=_t(
    "Llama-3.1-405B", LLAMA3_405B, num_layers=126, hidden_size=16384, num_heads=128, num_kv_heads=8,
    ffn_hidden_size=53248, vocab_size=128256, seq_len=131072, gated_ffn=True))
Models.register("Llama2_70B", factory=_t(
    "Llama-2-70B", LLAMA2_70B, num_layers=80, hidden_size=8192, num_heads=64, num_kv_heads=8, ffn_hidden_size=28672,
    vocab_size=32000, seq_len=4096, gated_ffn=True))
Models.register("Mixtral_8x7B", factory=_t(
    "Mixtral-8x7B", MIXTRAL, num_layers=32, hidden_size=4096, num_heads=32, num_kv_heads=8, head_dim=128,
    ffn_hidden_size=14336, vocab_size=32000, seq_len=32768, gated_ffn=True, num_experts=8, experts_per_token=2))
Models.register("GPT3", factory=_t(
    "GPT-3 175B", GPT3, num_layers=96, hidden_size=12288, num_heads=96, head_dim=128, vocab_size=50257,
    seq_len=2048, learned_positions=True, tied_embeddings=True, bias="all", norm="layernorm"))
Models.register("GPT2", factory=_t(
    "GPT-2 (124M)", GPT2, num_layers=12, hidden_size=768, num_heads=12, vocab_size=50257, seq_len=1024,
    learned_positions=True, tied_embeddings=True, bias="all", norm="layernorm"))
Models.register("OPT_13B", factory=_t(
    "OPT-13B", OPT, num_layers=40, hidden_size=5120, num_heads=40, vocab_size=50272, seq_len=2048,
    learned_positions=True, tied_embeddings=True, bias="all", norm="layernorm"))
Models.register("BERT_Base", factory=_t(
    "BERT-Base", BERT, num_layers=12, hidden_size=768, num_heads=12, vocab_size=30522, seq_len=512,
    learned_positions=True, tied_embeddings=True, bias="all", norm="layernorm", kind="encoder"))

Models.register("ResNet50", factory=lambda: CNNWorkload(
    name="ResNet-50", parameters=25_557_032, macs=4.09e9, input_shape=(3, 224, 224),
    peak_activation_elements=Sourced(802_816, RESNET50_ACT), source=TORCHVISION_RESNET50))
Models.register("MobileNetV2", factory=lambda: CNNWorkload(
    name="MobileNetV2", parameters=3_504_872, macs=0.30e9, input_shape=(3, 224, 224),
    peak_activation_elements=Sourced(1_204_224, MOBILENETV2_ACT), source=TORCHVISION_MOBILENETV2))
Models.register("DSCNN_KWS", factory=lambda: CNNWorkload(
    name="DS-CNN (MLPerf Tiny KWS)", parameters=Sourced(22_604, DSCNN_PARAMS), macs=2.66e6, input_shape=(1, 49, 10),
    peak_activation_elements=Sourced(8_000, DSCNN_ACT), source=MLPERF_TINY))
Models.register("MobileNetV1_VWW", factory=lambda: CNNWorkload(
    name="MobileNetV1 0.25x (MLPerf Tiny VWW)", parameters=Sourced(210_850, VWW_PARAMS), macs=7.5e6,
    input_shape=(3, 96, 96), peak_activation_elements=Sourced(36_864, VWW_ACT), source=MLPERF_TINY))
