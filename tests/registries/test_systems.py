"""Fabrics, fleets and reference clusters."""
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.core.errors import DomainError, SourceError, UnknownNameError
from mlsysim.core.sources import Source, Sourced
from mlsysim.systems import Fabrics, Fleet, NetworkFabric, Systems


@pytest.mark.parametrize("key,gbps_each_way", [
    ("NVLink3", 300), ("NVLink4", 450), ("NVLink5", 900),      # 600 / 900 / 1800 GB/s bidirectional, halved
    ("InfiniBand_NDR", 50), ("InfiniBand_HDR", 25),            # 400 / 200 Gb/s divided by 8 bits
    ("RoCE_400G", 50), ("Ethernet_100G", 12.5),
    # TPU v5p: 1,200 GB/s bidirectional per chip over 6 links = 100 GB/s per link per direction;
    # all three axes (6 links) -> 600 GB/s per direction, one axis (2 links) -> 200 GB/s
    ("TPU_ICI_v5p", 600), ("TPU_ICI_v5p_Axis", 200),
    ("NVLink_Bridge_H100", 300)])                               # 600 GB/s bidirectional between two cards
def test_fabric_bandwidths(key, gbps_each_way):
    assert Fabrics[key].link_bandwidth.to("GB/s").magnitude == pytest.approx(gbps_each_way, rel=1e-12)


def test_tpu_v4_ici_from_pod_allreduce_bandwidth():
    # 1.1 PB/s per 4096-chip pod -> 268.55 GB/s per chip
    assert Fabrics.TPU_ICI_v4.link_bandwidth.to("GB/s").magnitude == pytest.approx(1.1e6 / 4096, rel=1e-12)


def test_every_fabric_value_is_sourced():
    assert len(Fabrics) == 11
    for name, f in Fabrics.items():
        fields = f.sourced_fields()
        assert set(fields) == set(NetworkFabric.FIELDS), name
        for field, sv in fields.items():
            assert isinstance(sv.source, Source)
            if sv.source.kind in ("assumption", "derived", "secondary"):
                assert sv.source.note.strip()
        assert f.topology in ("nvswitch", "fat_tree", "torus", "ring")
        assert f.oversubscription >= 1


def test_fabric_validation():
    src = Source("test", kind="assumption", note="test fabric")
    with pytest.raises(SourceError):
        NetworkFabric("X", "x", link_bandwidth=Q_(1, "GB/s"), link_latency=Sourced(Q_(1, "us"), src),
                      topology=Sourced("ring", src), oversubscription=Sourced(1, src))
    with pytest.raises(DomainError, match="topology"):
        NetworkFabric("X", "x", link_bandwidth=Sourced(Q_(1, "GB/s"), src), link_latency=Sourced(Q_(1, "us"), src),
                      topology=Sourced("hypercube", src), oversubscription=Sourced(1, src))
    with pytest.raises(DomainError, match="oversubscription"):
        Fabrics.InfiniBand_NDR.replace(oversubscription=0.5)


def test_fleet_defaults_come_from_the_hardware_entry():
    a = Fleet("A100", num_nodes=4)
    assert (a.devices_per_node, a.intra_node_fabric.key, a.inter_node_fabric.key) == (8, "NVLink3", "InfiniBand_HDR")
    assert a.num_devices == 32
    h = Fleet(mlsysim.Hardware.H100, num_nodes=2)
    assert (h.intra_node_fabric.key, h.inter_node_fabric.key) == ("NVLink4", "InfiniBand_NDR")
    t = Fleet("TPUv5p", num_nodes=16)
    assert (t.devices_per_node, t.intra_node_fabric.key) == (4, "TPU_ICI_v5p")
    # the H100 PCIe card pairs through its NVLink bridge, not an 8-GPU NVLink4 node (issue 12)
    p = Fleet("H100_PCIe", num_nodes=4, inter_node_fabric="Ethernet_100G")
    assert (p.devices_per_node, p.intra_node_fabric.key) == (2, "NVLink_Bridge_H100")
    with pytest.raises(DomainError, match="inter_node_fabric"):    # the card implies no NIC
        Fleet("H100_PCIe", num_nodes=4)
    # a hardware override moves the fleet default with it
    h8 = mlsysim.Hardware.H100_PCIe.replace(devices_per_node=8, intra_node_fabric="NVLink4")
    assert Fleet(h8, num_nodes=1, inter_node_fabric="Ethernet_100G").intra_node_fabric.key == "NVLink4"


def test_substring_platform_table_is_gone():
    import mlsysim.systems.fleet as fleet

    assert not hasattr(fleet, "PLATFORM_DEFAULTS") and not hasattr(fleet, "platform_defaults")


def test_reference_systems():
    assert Systems.H100_1024.num_devices == 1024
    llama = Systems.Llama3_Cluster
    assert (llama.num_devices, llama.num_nodes) == (16384, 2048)      # Llama 3 paper, Sec. 3.3.1
    assert llama.inter_node_fabric.key == "RoCE_400G"
    assert Systems.A100_Megatron.num_devices >= 2520                 # largest Table 1 row: 2520 GPUs
    assert Systems.Research_256_100GbE.num_devices == 256
    assert Systems.TPUv5p_Pod_Slice.hardware.key == "TPUv5p"
    for name, f in Systems.items():
        assert f.source is not None, name


def test_with_oversubscription_and_replace():
    f = Systems.H100_1024
    g = f.with_oversubscription(2)
    assert g.oversubscription == 2 and f.oversubscription == 1
    assert g.inter_node_fabric.source_of("oversubscription").kind == "assumption"
    assert f.replace(num_nodes=4).num_devices == 32
    with pytest.raises(DomainError):
        f.with_oversubscription(0.5)


def test_fleet_errors():
    with pytest.raises(DomainError, match="num_nodes"):
        Fleet("A100", num_nodes=0)
    with pytest.raises(DomainError, match="num_nodes"):
        Fleet("A100", num_nodes=2.5)
    with pytest.raises(UnknownNameError):
        Fleet("A100", num_nodes=1, inter_node_fabric="Infiniband_XDR")
    with pytest.raises(UnknownNameError):
        Fleet("A1000", num_nodes=1)
    with pytest.raises(DomainError, match="no sourced devices_per_node"):
        Fleet("T4", num_nodes=1)
    with pytest.raises(UnknownNameError):
        Systems.H100_1024.replace(gpus=3)


def test_top_level_names():
    assert mlsysim.Fabrics is Fabrics and mlsysim.Fleet is Fleet and mlsysim.Systems is Systems
