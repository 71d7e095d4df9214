"""Layer C: infrastructure. Electricity grids and datacentres, every value cited.

Usage::

    from mlsysim import Infra
    Infra.Poland.carbon_intensity                 # 662 g/kWh CO2e, life-cycle, 2023 (Ember)
    Infra.Poland.source_of("carbon_intensity")
    Infra.Quebec.with_datacenter("Hyperscale").pue
    Infra.regions(), Infra.datacenters()

One registry holds both kinds of entry: grid regions (:class:`GridRegion`: ``Infra.Poland``,
``Infra.US_Avg`` ...) and datacentre profiles (:class:`DatacenterProfile`: ``Infra.Hyperscale``,
``Infra.IndustryAverage`` ...). :meth:`InfraRegistry.regions` and :meth:`InfraRegistry.datacenters`
list the names of each. Entries are built on first access.

Data modules, one per source family: ``grid_ember_owid`` (country life-cycle intensities),
``grid_sites_2019_2021`` (Patterson et al. 2021 sites, ML CO2 Impact calculator), ``prices_2022_2024``
(industrial electricity prices), ``datacenter_reports`` (PUE/WUE profiles).
"""
from __future__ import annotations

from .spec import BASES, DatacenterProfile, GridRegion, InfraRegistry
from .report import report, write_docs

Infra = InfraRegistry("infrastructure")


def _register() -> None:
    from .datacenter_reports import PROFILES
    from .regions import REGIONS
    for name, factory in REGIONS.items():
        Infra.register_region(name, factory)
    for name, factory in PROFILES.items():
        Infra.register_datacenter(name, factory)


_register()

__all__ = ["Infra", "InfraRegistry", "GridRegion", "DatacenterProfile", "BASES", "report", "write_docs"]
