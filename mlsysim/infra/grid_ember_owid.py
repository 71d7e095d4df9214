"""Country carbon intensities from Ember and Our World in Data (life-cycle basis).

Ember's and OWID's carbon intensity of electricity generation count life-cycle emissions of each
generation source (IPCC life-cycle factors), in g CO2e per kWh generated. Values follow
tests/data/published_cases.json (cases ``grid_poland``, ``grid_global_and_others``,
``grid_us_average``, ``grid_france``).

Vintages: the OWID values (data year 2021) are those of one historical version of codecarbon's
``global_energy_mix.json``, pinned below by its commit (the file was revised before and after it, and the
same countries' values differ in each version); Poland, Norway and the world average come from Ember's
2023/2025 data. Each region's ``year`` says which.

Each entry: registry name -> (display name, g/kWh, data year, Source).
"""
from __future__ import annotations

from ..core.sources import Source

#: the codecarbon commit whose global_energy_mix.json holds exactly these 2021 values (2023-07-22,
#: "refreshed data based on latest notebook"); the versions of 2022-12-22 and 2024-04-07 differ
CODECARBON_COMMIT = "49a7d00ab174b22ddcefdc6356d3e9e659d7493d"

OWID_2021 = Source(
    "Our World in Data, energy dataset (Ember and Energy Institute), as packaged in mlco2/codecarbon "
    "global_energy_mix.json at commit 49a7d00 (2023-07-22)", kind="report", year=2023,
    locator="carbon intensity of electricity generation, 2021 data (year field = data year), life-cycle g CO2e/kWh",
    url=f"https://github.com/mlco2/codecarbon/blob/{CODECARBON_COMMIT}/"
        "codecarbon/data/private_infra/global_energy_mix.json")

EMBER_EU_2023 = Source(
    "Ember, European Electricity Review, via Statista 'Carbon intensity of the power sector in the EU 2023'",
    kind="report", year=2024,
    locator="Poland, 2023 data: 662 g CO2e/kWh (life-cycle); highest in the EU")

EMBER_GLOBAL_2023 = Source(
    "Ember, via Statista 'Electricity generation emission intensity in selected countries worldwide in 2023'",
    kind="report", year=2024,
    locator="Norway, 2023 data: 30 g CO2e/kWh (about 90% hydropower)",
    url="https://www.statista.com/statistics/943137/global-emissions-intensity-power-sector-by-country")

EMBER_GLOBAL_REVIEW_2026 = Source(
    "Ember, Global Electricity Review 2026", kind="report", year=2026,
    locator="world power-sector carbon intensity, 2025 data: 458 g CO2e/kWh (471 in 2024, 533 in 2015)")

#: name -> (display name, carbon intensity [g/kWh], data year, source)
LIFECYCLE_INTENSITY = {
    "Poland": ("Poland", 662.0, 2023, EMBER_EU_2023),
    "Norway": ("Norway", 30.0, 2023, EMBER_GLOBAL_2023),
    "World_Avg": ("World average", 458.0, 2025, EMBER_GLOBAL_REVIEW_2026),
    "US_Avg": ("United States average", 379.26, 2021, OWID_2021),
    "France": ("France", 67.39, 2021, OWID_2021),
    "Germany": ("Germany", 365.48, 2021, OWID_2021),
    "Sweden": ("Sweden", 45.82, 2021, OWID_2021),
    "UK": ("United Kingdom", 268.33, 2021, OWID_2021),
    "China": ("China", 544.36, 2021, OWID_2021),
    "India": ("India", 637.18, 2021, OWID_2021),
}
