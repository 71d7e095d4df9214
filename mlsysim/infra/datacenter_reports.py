"""Datacentre profiles: PUE and WUE from operator reports and the Uptime Institute survey.

Values follow /work/shared/reference/published_cases.json (cases ``pue_industry_and_hyperscalers`` and
``wue_hyperscalers``), whose figures were checked against the cited documents.
"""
from __future__ import annotations

from ..core.sources import Source, assumption
from ..core.specs import sv
from .spec import DatacenterProfile

GOOGLE_EFFICIENCY_2025 = Source(
    "Google, 'Data centers: Efficiency' (fleet-wide power usage effectiveness)", kind="report", year=2025,
    locator="fleet-wide trailing-twelve-month PUE, 2025 annual figure: 1.09",
    url="https://datacenters.google/efficiency")

MICROSOFT_WUE_2025 = Source(
    "Microsoft, datacenter sustainability pages and blog (water usage effectiveness)", kind="report", year=2026,
    locator="fleet WUE for 2025: 0.27 L/kWh of IT energy (0.30 in the 2024 page; 0.49 for 2021)")

UPTIME_2025 = Source(
    "Uptime Institute, Global Data Center Survey 2025", kind="report", year=2025,
    locator="p.7-8: weighted average PUE 1.54; new facilities 1.48; facilities of 20 MW or more 1.44")

STRUBELL_2019 = Source(
    "Strubell, Ganesh & McCallum, 'Energy and Policy Considerations for Deep Learning in NLP', ACL",
    kind="paper", year=2019,
    locator="Sec. 2, Eq. 1: PUE 1.58, the 2018 global average of the Uptime Institute survey",
    url="arXiv:1906.02243")

INDUSTRY_WUE_ASSUMED = assumption(
    "industry-average on-site WUE of 1.8 L/kWh",
    "No survey-wide WUE is among the verified references (the Uptime survey reports PUE only). 1.8 L/kWh "
    "is the industry-average on-site WUE commonly used by ML footprint tools (e.g. the EcoLogits "
    "methodology default) and usually attributed to Shehabi et al. 2016, 'United States Data Center "
    "Energy Usage Report' (LBNL-1005775); that attribution was not checked against the report. "
    "Replace with a verified figure or override with .replace(wue=...).")


def build_hyperscale() -> DatacenterProfile:
    return DatacenterProfile(
        "Hyperscale", "Hyperscale datacentre (Google fleet PUE, Microsoft fleet WUE)",
        description="large cloud-operator facility, free-cooled and highly utilised",
        pue=sv(1.09, None, GOOGLE_EFFICIENCY_2025),
        wue=sv(0.27, "L/kWh", MICROSOFT_WUE_2025))


def build_industry_average() -> DatacenterProfile:
    return DatacenterProfile(
        "IndustryAverage", "Industry-average datacentre (Uptime Institute 2025)",
        description="capacity-weighted average of the datacentres in the Uptime Institute survey",
        pue=sv(1.54, None, UPTIME_2025),
        wue=sv(1.8, "L/kWh", INDUSTRY_WUE_ASSUMED))


def build_industry_average_2018() -> DatacenterProfile:
    return DatacenterProfile(
        "IndustryAverage2018", "Industry-average datacentre, 2018 (as used by Strubell et al. 2019)",
        description="2018 Uptime survey average; reproduces the conventions of Strubell et al. 2019",
        pue=sv(1.58, None, STRUBELL_2019))


def build_new_facility() -> DatacenterProfile:
    return DatacenterProfile(
        "NewFacility", "Recently built datacentre (Uptime Institute 2025)",
        description="average of facilities built in recent years in the Uptime survey",
        pue=sv(1.48, None, UPTIME_2025))


def build_large_facility() -> DatacenterProfile:
    return DatacenterProfile(
        "LargeFacility", "Large datacentre, 20 MW or more (Uptime Institute 2025)",
        description="average of facilities of 20 MW or more in the Uptime survey",
        pue=sv(1.44, None, UPTIME_2025))


#: registry name -> factory, in report order
PROFILES = {
    "Hyperscale": build_hyperscale,
    "IndustryAverage": build_industry_average,
    "IndustryAverage2018": build_industry_average_2018,
    "NewFacility": build_new_facility,
    "LargeFacility": build_large_facility,
}
