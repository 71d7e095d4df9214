"""Site-level carbon intensities used by published ML footprint studies.

- Patterson et al. 2021, Table 4: the *net* carbon intensity and the PUE of the Google datacentres
  where T5 (Taiwan), Meena (Georgia, US) and GShard (North Carolina) were trained. "Net" means after
  the carbon-free energy the site received; the table gives no life-cycle split, so these values are
  classified here as ``direct`` (operational emissions of the electricity consumed).
- Hydro-Quebec's own published emission rate for the electricity generated and purchased in Quebec
  (direct: fossil-fuel combustion only, not a life-cycle figure), 2016 activities.
- Google Cloud ``us-central1`` (Iowa): the ML CO2 Impact calculator (Lacoste et al. 2019,
  ``mlco2/impact`` ``data/impact.csv``, source column "eGRID"), i.e. US EPA eGRID2016 subregion output
  emission rates: direct combustion emissions, data year 2016. The calculator is a secondary source here.

Basis: the values of this module are **direct** (operational) emissions; the country values of
``grid_ember_owid`` (Ember, Our World in Data) are **life-cycle**. Comparing a direct value with a
life-cycle one flatters the direct one (for hydropower-dominated Quebec, life-cycle studies give a few
g/kWh more): each region's ``basis`` says which it is.

Values follow tests/data/published_cases.json (cases ``patterson_t5``, ``patterson_meena``,
``patterson_gshard``, ``grid_quebec``, ``grid_global_and_others``).
"""
from __future__ import annotations

from ..core import references as refs
from ..core.references import cite
from ..core.sources import Source, secondary

PATTERSON_2021 = cite(refs.PATTERSON_2021, "Table 4 (p.6): datacentre PUE and net kg CO2e/kWh per training run "
                                                 "(net tCO2e / MWh)")

MLCO2_IMPACT_2019 = Source(
    "Lacoste et al., 'Quantifying the Carbon Emissions of Machine Learning' (ML CO2 Impact calculator), "
    "mlco2/impact data/impact.csv", kind="report", year=2019,
    url="arXiv:1910.09700; https://github.com/mlco2/impact")

HYDRO_QUEBEC_2016 = Source(
    "Hydro-Quebec, 'Atmospheric emissions' (Sustainable development: energy and the environment)",
    kind="report", year=2017,
    locator="Activities in 2016: atmospheric emissions from electricity generation and purchases in Quebec, "
            "360 t CO2/TWh (= 0.36 g/kWh); generation only, not a life-cycle assessment",
    url="https://www.hydroquebec.com/sustainable-development/energy-environment/atmospheric-emissions.html")

EGRID2016_VIA_MLCO2 = secondary(
    "Lacoste et al., ML CO2 Impact calculator, mlco2/impact data/impact.csv (row gcp us-central1, Council "
    "Bluffs, Iowa: 566.3 g/kWh, source column 'eGRID')", 2019,
    "the calculator names 'eGRID' without an edition or subregion; its 2019 data use US EPA eGRID2016 "
    "(released Feb 2018), whose output emission rates count direct combustion emissions of 2016 generation. "
    "The EPA table itself was not checked here",
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
    "Quebec": ("Quebec, Canada (Hydro-Quebec main grid)", 0.36, 2016, "direct", None, HYDRO_QUEBEC_2016,
               "basis direct (fossil-fuel combustion of the generation and purchases supplying Quebec; CO2 only, "
               "which Hydro-Quebec treats as CO2e since its thermal emissions are >99% CO2), data year 2016. "
               "The ML CO2 calculator's 20 g/kWh (a row naming no document) is not used"),
    "Iowa": ("Iowa, US (Google Cloud us-central1)", 566.3, 2016, "direct", None, EGRID2016_VIA_MLCO2,
             "eGRID2016 via the ML CO2 calculator: basis direct combustion, data year 2016"),
}
