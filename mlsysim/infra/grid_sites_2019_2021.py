"""Site-level carbon intensities used by published ML footprint studies.

- Patterson et al. 2021, Table 4: the *net* carbon intensity and the PUE of the Google datacentres
  where T5 (Taiwan), Meena (Georgia, US) and GShard (North Carolina) were trained. "Net" means after
  the carbon-free energy the site received; the table gives no life-cycle split, so these values are
  classified here as ``direct`` (operational emissions of the electricity consumed).
- The ML CO2 Impact calculator (Lacoste et al. 2019), ``mlco2/impact`` ``data/impact.csv``: Quebec
  (attributed to Hydro-Quebec) and Google Cloud ``us-central1`` (Iowa).

Values follow /work/shared/reference/published_cases.json (cases ``patterson_t5``, ``patterson_meena``,
``patterson_gshard``, ``grid_quebec``, ``grid_global_and_others``).
"""
from __future__ import annotations

from ..core.sources import Source

PATTERSON_2021 = Source(
    "Patterson et al., 'Carbon Emissions and Large Neural Network Training'", kind="paper", year=2021,
    locator="Table 4 (p.6): datacentre PUE and net kg CO2e/kWh per training run (net tCO2e / MWh)",
    url="arXiv:2104.10350")

MLCO2_IMPACT_2019 = Source(
    "Lacoste et al., 'Quantifying the Carbon Emissions of Machine Learning' (ML CO2 Impact calculator), "
    "mlco2/impact data/impact.csv", kind="report", year=2019,
    url="arXiv:1910.09700; https://github.com/mlco2/impact")

#: name -> (display name, g/kWh, year, basis, PUE or None, source, note on basis/site)
SITES = {
    "Taiwan": ("Taiwan (Google datacentre where T5 was trained)", 545.0, 2021, "direct", 1.12, PATTERSON_2021,
               "T5-11B row: 46.7 tCO2e / 85.7 MWh = 0.545 kg/kWh; net of the site's carbon-free energy"),
    "Georgia_US": ("Georgia, US (Google datacentre where Meena was trained)", 416.0, 2021, "direct", 1.09,
                   PATTERSON_2021, "Meena row: 96.4 tCO2e / 232 MWh = 0.416 kg/kWh; net of carbon-free energy"),
    "NorthCarolina": ("North Carolina, US (Google datacentre where GShard was trained)", 178.0, 2021, "direct",
                      1.09, PATTERSON_2021,
                      "GShard-600B row: 4.3 tCO2e / 24.1 MWh = 0.178 kg/kWh; net of carbon-free energy"),
    "Quebec": ("Quebec, Canada (Hydro-Quebec)", 20.0, 2019, "lifecycle", None, MLCO2_IMPACT_2019,
               "calculator value for Quebec, source column 'Hydro-Quebec'. The calculator does not state the "
               "basis; Hydro-Quebec's own direct (combustion) figure is 360 tCO2/TWh = 0.36 g/kWh (2016 "
               "activities), 50x lower, so this value is classified as life-cycle"),
    "Iowa": ("Iowa, US (Google Cloud us-central1)", 566.3, 2019, "direct", None, MLCO2_IMPACT_2019,
             "calculator value for Google Cloud region us-central1 (Council Bluffs, Iowa). The calculator does "
             "not state the basis; classified as direct (grid-average operational emissions)"),
}
