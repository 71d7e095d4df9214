"""Industrial electricity prices, 2022-2024, in USD/kWh.

US prices are EIA's average revenue per kWh sold to the industrial sector. Other prices are converted
from the local currency with a ``derived`` Source that states the exchange rate. Regions with no
verified industrial price (France, Germany, Poland, Sweden, UK, China, India, World_Avg) have none:
``region.has("electricity_price")`` is False and callers supply one with ``region.replace(...)``.
"""
from __future__ import annotations

from ..core.sources import Source
from ..core.specs import sv
from .spec import converted_price

EIA_EPA_2023 = Source(
    "U.S. Energy Information Administration, Electric Power Annual 2023 (released 17 Oct 2024)",
    kind="report", year=2024,
    locator="average revenue per kilowatthour by state, 2023, industrial sector (cents/kWh)",
    url="https://www.eia.gov/electricity/annual/secrev-map.php")

EIA_US_INDUSTRIAL_2023 = Source(
    "U.S. Energy Information Administration, average retail electricity price for industrial consumers "
    "1970-2023, as charted by Statista (18 Mar 2024)", kind="report", year=2024,
    locator="2023 US average, industrial sector: 8.06 US cents/kWh (8.3 in 2022)",
    url="https://www.statista.com/statistics/190680/us-industrial-consumer-price-estimates-for-retail-electricity-since-1970/")

# Exchange rates (local currency per USD), one place. Annual averages of the central banks' reference
# rates for the price's year; entered by hand, not re-checked against the banks' tables at write time.
CAD_PER_USD_2022 = 1.3013   # Bank of Canada, annual average 2022
NOK_PER_USD_2023 = 10.56    # Norges Bank, annual average 2023
TWD_PER_USD_TAIPEI_TIMES_2024 = 4.29 / 0.1355  # the Taipei Times' own conversion (NT$4.29 = US$0.1355)


def _prices():
    return {
        "US_Avg": sv(0.0806, "USD/kWh", EIA_US_INDUSTRIAL_2023),
        "Iowa": sv(0.0691, "USD/kWh", EIA_EPA_2023),
        "Georgia_US": sv(0.0688, "USD/kWh", EIA_EPA_2023),
        "NorthCarolina": sv(0.0715, "USD/kWh", EIA_EPA_2023),
        "Quebec": converted_price(
            0.0533, "CAD", CAD_PER_USD_2022,
            citation="Hydro-Quebec Rate L (large-power industrial customers), as reported by La Presse "
                     "('Companies subsidize your electric bill')",
            year=2022, locator="Rate L average price at 1 April 2022: 5.33 CAD cents/kWh", url="",
            rate_note="Bank of Canada annual average 2022"),
        "Norway": converted_price(
            0.443, "NOK", NOK_PER_USD_2023,
            citation="Statistics Norway (SSB), Business statistics for the electricity industry, table 'Prices "
                     "on electricity and grid rent excluding taxes, by consumer group'",
            year=2023, locator="2023, power-intensive manufacturing: 44.3 ore/kWh (electricity 42.1 + grid "
                               "rent 2.2); chosen as the tariff class of a large continuous load such as a "
                               "hyperscale datacentre (all consumer groups: 94.2 ore/kWh)",
            url="https://www.ssb.no/en/virksomheter-foretak-og-regnskap/virksomheter-og-foretak/statistikk/"
                "elektrisitetsnaeringens-okonomiske-utvikling",
            rate_note="Norges Bank annual average 2023"),
        "Taiwan": converted_price(
            4.29, "TWD", TWD_PER_USD_TAIPEI_TIMES_2024,
            citation="Taipei Times, front-page report of 1 Oct 2024 on the industrial tariff increase, "
                     "citing the Ministry of Economic Affairs",
            year=2024, locator="average industrial rate after the October 2024 adjustment: NT$4.29 per kWh "
                               "(US$0.1355 per the article)",
            url="https://www.taipeitimes.com/News/front/archives/2024/10/01/2003824615",
            rate_note="the article's own conversion, NT$4.29 = US$0.1355"),
    }


PRICES = _prices()
