"""Microcontrollers (TinyML): Espressif, Nordic/Arduino and ST boards, from their datasheets and the
MLPerf Tiny v0.5 reference submission.

Peak compute of a microcontroller
---------------------------------
MCU datasheets give a clock, not a FLOP/s figure. Here "peak FLOP/s" is a *modelling* quantity, derived
as clock x cores x operations per cycle of the best instruction for the precision (each value's ``derived``
source shows the arithmetic):

* Arm Cortex-M4(F), INT8: ``SMLAD`` performs two 16x16-bit multiply-accumulates in one cycle, and
  CMSIS-NN style kernels widen INT8 operands to 16 bits for it: 2 MAC = 4 OP per cycle.
* Arm Cortex-M4F, FP32: ``VADD.F32``/``VMUL.F32`` issue one per cycle (a fused ``VFMA.F32`` takes 3
  cycles): 1 FLOP per cycle.
* Xtensa LX6 (ESP32): one 16-bit ``MULA`` MAC per cycle for integers (2 OP), one single-precision
  ``MADD.S`` per cycle assumed for FP32 (2 FLOP), per core, two cores.
* Xtensa LX7 (ESP32-S3): the 128-bit SIMD extension multiplies-accumulates 16 INT8 lanes per instruction;
  one such instruction per cycle per core is assumed (32 OP per cycle per core).

Real kernels reach a small fraction of these peaks. The MLPerf Tiny v0.5 reference results (TFLM 2.3.1
reference kernels on the NUCLEO-L4R5ZI) imply about 0.12 MAC/cycle for the DS-CNN keyword-spotting model,
i.e. 6 % of the 2 MAC/cycle peak: :data:`TFLM_REFERENCE_EFFICIENCY` records the compute efficiency to use
with these peaks for that software stack.
"""
from __future__ import annotations

from ..core.assumptions import Assumption
from ..core.sources import Source, derived
from ..core.specs import sv
from .spec import HardwareSpec, with_note

ESP32_DATASHEET = Source(
    "Espressif Systems, 'ESP32 Series Datasheet'; ESP-IDF 'Chip Series Comparison'", kind="datasheet", year=2023,
    locator="Sec. 3.1 (CPU and memory)", url="https://www.espressif.com/en/support/documents/technical-documents")
ESP32_S3_DATASHEET = Source(
    "Espressif Systems, 'ESP32-S3 Series Datasheet'; ESP-IDF 'Chip Series Comparison'", kind="datasheet",
    year=2023, locator="CPU and memory section",
    url="https://www.espressif.com/en/support/documents/technical-documents")
NANO33_DATASHEET = Source(
    "Arduino, 'Nano 33 BLE Sense Rev2' datasheet (arduino/docs-content); Nordic Semiconductor, 'nRF52840 "
    "Product Specification'", kind="datasheet", year=2023, locator="board specifications",
    url="https://docs.arduino.cc/hardware/nano-33-ble-sense-rev2/")
NUCLEO_L4R5ZI_SYSTEM = Source(
    "MLCommons, MLPerf Tiny v0.5 results, 'Nucleo_L4R5ZI_System_Description.json' (closed/reference)",
    kind="benchmark", year=2021, locator="closed/reference/systems/",
    url="https://github.com/mlcommons/tiny_results_v0.5")
MLPERF_TINY_V05_REFERENCE = Source(
    "MLCommons, MLPerf Tiny v0.5 closed reference results, NUCLEO-L4R5ZI; C. Banbury et al., 'MLPerf Tiny "
    "Benchmark', NeurIPS Datasets and Benchmarks", kind="benchmark", year=2021,
    locator="closed/reference/results/Nucleo-L4R5ZI/{kws,vww}/{performance,energy}/results.txt",
    url="https://github.com/mlcommons/tiny_results_v0.5")

_KIB = "the datasheet writes KB for binary kilobytes (1 KB = 1024 bytes); stored in KiB"
_MIB = "the datasheet writes MB for binary megabytes (1 MB = 1024 x 1024 bytes); stored in MiB"


def _peak(src: Source, arithmetic: str) -> Source:
    return derived(src.short(), f"modelling peak, not a datasheet figure: {arithmetic} (see mlsysim.hardware.tiny)")


def esp32_s3() -> HardwareSpec:
    s = ESP32_S3_DATASHEET
    return HardwareSpec(
        "ESP32", "Espressif ESP32-S3FN8 (2x Xtensa LX7, 240 MHz, 8 MB in-package flash)", vendor="Espressif",
        year=2020,
        category="tiny",
        peak_flops={
            "fp32": sv(0.96, "GFLOP/s", _peak(s, "2 cores x 240 MHz x 1 MADD.S (2 FLOP) per cycle = 0.96 GFLOP/s")),
            "int8": sv(15.36, "GOP/s", _peak(
                s, "2 cores x 240 MHz x 16 INT8 MACs (one 128-bit SIMD multiply-accumulate) x 2 OP per cycle "
                   "= 15.36 GOP/s")),
        },
        clock=sv(240, "MHz", s),
        sram=sv(512, "KiB", with_note(s, _KIB)),
        flash=sv(8, "MiB", with_note(s, f"in-package flash of the ESP32-S3FN8, the only 8 MB-flash variant (the "
                                         f"ESP32-S3R8 has 8 MB of octal PSRAM and no flash); other variants use up "
                                         f"to 1 GB of external Octal SPI flash; {_MIB}")),
        memory_bandwidth=sv(1.92, "GB/s", derived(
            s.short(), "internal SRAM read by the two cores: one 32-bit load per core per cycle x 2 cores x "
                       "240 MHz = 1.92 GB/s (the 128-bit SIMD loads of the AI extensions can move more); a "
                       "modelling value, not a datasheet figure")),
        description="AIoT microcontroller with vector (SIMD) instructions; CoreMark 1181.6 (dual core).",
    )


def esp32_original() -> HardwareSpec:
    s = ESP32_DATASHEET
    return HardwareSpec(
        "ESP32_Original", "Espressif ESP32 (2x Xtensa LX6, 240 MHz, 4 MB module flash)", vendor="Espressif",
        year=2016, category="tiny",
        peak_flops={
            "fp32": sv(0.96, "GFLOP/s", _peak(s, "2 cores x 240 MHz x 1 MADD.S (2 FLOP) per cycle = 0.96 GFLOP/s")),
            "int8": sv(0.96, "GOP/s", _peak(s, "2 cores x 240 MHz x 1 MULA (16-bit MAC, 2 OP) per cycle "
                                                 "= 0.96 GOP/s; no SIMD")),
        },
        clock=sv(240, "MHz", s),
        sram=sv(520, "KiB", with_note(s, _KIB)),
        flash=sv(4, "MiB", with_note(s, f"external QSPI flash of a typical module (up to 16 MB mapped); {_MIB}")),
        description="The original ESP32; CoreMark 994.26 (dual core).",
    )


def arduino_nano33() -> HardwareSpec:
    s = NANO33_DATASHEET
    return HardwareSpec(
        "Arduino", "Arduino Nano 33 BLE Sense (Nordic nRF52840, Cortex-M4F 64 MHz)", vendor="Arduino / Nordic",
        year=2019, category="tiny",
        peak_flops={
            "fp32": sv(64, "MFLOP/s", _peak(s, "64 MHz x 1 FLOP (VADD.F32 or VMUL.F32) per cycle = 64 MFLOP/s")),
            "int8": sv(256, "MOP/s", _peak(s, "64 MHz x 2 MACs (SMLAD) x 2 OP per cycle = 256 MOP/s")),
        },
        clock=sv(64, "MHz", s),
        sram=sv(256, "KiB", with_note(s, _KIB)),
        flash=sv(1, "MiB", with_note(s, f"1024 KB of on-chip flash; {_MIB}")),
        memory_bandwidth=sv(256, "MB/s", derived(
            s.short(), "on-chip SRAM read by the core: one 32-bit load per cycle (back-to-back loads "
                       "pipeline) x 64 MHz = 256 MB/s; a modelling value, not a datasheet figure")),
        description="TinyML teaching board (TinyML edX course, 'TinyML' book): Bluetooth 5 LE, sensors.",
    )


def cortex_m4() -> HardwareSpec:
    s = NUCLEO_L4R5ZI_SYSTEM
    return HardwareSpec(
        "CortexM4", "ST NUCLEO-L4R5ZI (STM32L4R5, Cortex-M4F 120 MHz), MLPerf Tiny v0.5 reference",
        vendor="STMicroelectronics", year=2021, category="tiny",
        peak_flops={
            "fp32": sv(120, "MFLOP/s", _peak(s, "120 MHz x 1 FLOP (VADD.F32 or VMUL.F32) per cycle = 120 MFLOP/s")),
            "int8": sv(480, "MOP/s", _peak(s, "120 MHz x 2 MACs (SMLAD) x 2 OP per cycle = 480 MOP/s")),
        },
        clock=sv(120, "MHz", s),
        sram=sv(640, "KiB", with_note(s, _KIB)),
        flash=sv(2, "MiB", with_note(s, _MIB)),
        memory_bandwidth=sv(480, "MB/s", derived(
            s.short(), "on-chip SRAM read by the core: one 32-bit load per cycle (back-to-back loads "
                       "pipeline) x 120 MHz = 480 MB/s; a modelling value, not a datasheet figure")),
        tdp=sv(40.8, "mW", with_note(MLPERF_TINY_V05_REFERENCE, "average board power measured during keyword-"
                                     "spotting inference at 1.8 V (40.3 mW for visual wake words); MCUs have no "
                                     "TDP, so the measured active power stands in")),
        description="The MLPerf Tiny v0.5 reference platform (TFLM 2.3.1, int8 models).",
    )


#: Compute efficiency of the TFLM 2.3.1 *reference* kernels on Cortex-M4, against ``CortexM4``'s int8 peak.
TFLM_REFERENCE_EFFICIENCY = Assumption(
    "compute_efficiency", 0.0609,
    Source("mlsysim calibration: TFLM 2.3.1 reference-kernel efficiency on a Cortex-M4, fitted to the MLPerf Tiny "
           "v0.5 KWS reference latency", kind="fit", year=2021,
           locator="mlsysim/calibration/fitted.json tflm_reference; "
                   "data/measurements/mlperf_tiny/kws_reference_v0.5.json",
           url="https://github.com/mlcommons/tiny_results_v0.5",
           note="fitted by mlsysim/calibration/fit.py (python -m mlsysim.calibration.fit) to ONE measurement, the "
                "KWS latency of the MLPerf Tiny v0.5 closed reference submission (mlcommons/tiny_results_v0.5, "
                "NUCLEO-L4R5ZI, TFLM 2.3.1 reference kernels): DS-CNN 5.32 MOP in 181.9 ms = 29.2 MOP/s = 0.0609 "
                "of the 480 MOP/s int8 peak (0.12 MAC/cycle). The same submission's VWW latency is held out as a "
                "validation case: MobileNetV1-0.25 runs at 0.052 of peak, so this value predicts it 15 % fast. "
                "On other MCUs and kernel libraries it does not carry over: on the ESP32-S3, TFLM takes 2300 ms "
                "for person detection with its reference kernels and 54 ms with ESP-NN (Espressif), which this "
                "efficiency applied to the S3's SIMD peak would put at about 16 ms; see ESPNN_EFFICIENCY"),
    description="achieved / peak int8 rate of TFLM reference (non-CMSIS-NN) kernels on a Cortex-M4")

#: Compute efficiency of TFLM with Espressif's ESP-NN kernels on the ESP32-S3, against ``ESP32``'s int8 peak.
ESPNN_EFFICIENCY = Assumption(
    "compute_efficiency", 0.01726,
    Source("mlsysim calibration: TFLite Micro with ESP-NN kernels on the ESP32-S3, fitted to Espressif's measured "
           "person-detection latency", kind="fit", year=2024,
           locator="mlsysim/calibration/fitted.json espnn_s3; "
                   "data/measurements/espressif/esp_tflite_micro_person_detection.json",
           url="https://github.com/espressif/esp-tflite-micro#esp-nn-integration",
           note="fitted by mlsysim/calibration/fit.py (python -m mlsysim.calibration.fit) to ONE measurement: the "
                "TFLM person_detection example (MobileNetV1-0.25, 96 x 96 x 1, 7.16 M MACs counted layer by layer) "
                "takes 54 ms per invoke() on an ESP32-S3 at 240 MHz with ESP-NN (espressif/esp-tflite-micro "
                "README): 14.3 MOP in 54 ms = 265 MOP/s = 0.0173 of the 15.36 GOP/s two-core SIMD peak (TFLM "
                "runs on one core: 0.55 MAC/cycle). A calibration, not a validation: no held-out whole-network "
                "measurement on the S3 checks it, and a model of the same class (the Doorbell's MLPerf Tiny VWW "
                "network, RGB input) inherits it"),
    description="achieved / peak int8 rate of TFLite Micro with ESP-NN kernels on an ESP32-S3")


ENTRIES = {
    "ESP32": esp32_s3,
    "ESP32_Original": esp32_original,
    "Arduino": arduino_nano33,
    "CortexM4": cortex_m4,
}
