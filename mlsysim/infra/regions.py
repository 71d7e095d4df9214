"""Assemble the registry's :class:`GridRegion` entries from the data modules.

A region's carbon intensity comes from one report module (``grid_ember_owid``, ``grid_sites_2019_2021``),
its industrial price from ``prices_2022_2024``, and its datacentre PUE/WUE from the site's own report
where one exists (Patterson et al. 2021 for the Google sites) or else from a datacentre profile, with a
``derived`` Source that says so.
"""
from __future__ import annotations

import dataclasses

from ..core.sources import Sourced, derived
from ..core.specs import sv
from .datacenter_reports import PROFILES
from .grid_ember_owid import LIFECYCLE_INTENSITY
from .grid_sites_2019_2021 import SITES
from .spec import GridRegion

#: Profile whose PUE/WUE stand for "a typical datacentre" in a region with no region-specific figure.
DEFAULT_PROFILE = "IndustryAverage"
#: Profile used for the WUE of operator sites that publish PUE but not WUE (Google, Patterson 2021).
SITE_WUE_PROFILE = "Hyperscale"


def _from_profile(profile_key: str, field: str, region: str) -> Sourced:
    profile = PROFILES[profile_key]()
    s = profile.sourced_fields()[field]
    return Sourced(s.value, derived(
        f"{profile_key} datacentre profile",
        f"no {field} is published for a typical datacentre in {region}; uses the {profile_key} profile's "
        f"value, from {s.source.short()}"))


def _profile_fields(profile_key: str, region: str) -> dict[str, Sourced]:
    profile = PROFILES[profile_key]()
    return {f: _from_profile(profile_key, f, region) for f in ("pue", "wue") if profile.has(f)}


def _price(name: str) -> dict[str, Sourced]:
    from .prices_2022_2024 import PRICES
    return {"electricity_price": PRICES[name]} if name in PRICES else {}


def _lifecycle_factory(name: str):
    display, g_per_kwh, year, source = LIFECYCLE_INTENSITY[name]

    def build() -> GridRegion:
        return GridRegion(
            name, display, basis="lifecycle", year=year, datacenter=DEFAULT_PROFILE,
            carbon_intensity=sv(g_per_kwh, "g/kWh", source),
            **_price(name), **_profile_fields(DEFAULT_PROFILE, display))
    return build


def _site_factory(name: str):
    display, g_per_kwh, year, basis, pue, source, note = SITES[name]

    def build() -> GridRegion:
        ci_source = dataclasses.replace(
            source, locator=(source.locator + "; " if source.locator else "") + note)
        fields = {"carbon_intensity": sv(g_per_kwh, "g/kWh", ci_source), **_price(name)}
        if pue is not None:
            fields["pue"] = sv(pue, None, source)
            fields["wue"] = _from_profile(SITE_WUE_PROFILE, "wue", display)
            datacenter = None
        else:
            fields.update(_profile_fields(DEFAULT_PROFILE, display))
            datacenter = DEFAULT_PROFILE
        return GridRegion(name, display, basis=basis, year=year, datacenter=datacenter, **fields)
    return build


#: registry name -> factory, in report order
REGIONS = {}
for _n in ("Quebec", "Norway", "France", "Sweden", "UK", "Germany", "US_Avg", "World_Avg", "China",
           "India", "Poland", "Iowa", "Georgia_US", "NorthCarolina", "Taiwan"):
    REGIONS[_n] = _site_factory(_n) if _n in SITES else _lifecycle_factory(_n)
del _n
