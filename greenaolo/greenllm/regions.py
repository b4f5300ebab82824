"""The paper's nine data centres: Google Cloud US regions, their user areas and their carbon zones.

One home for the table the scenario generator (:mod:`greenaolo.greenllm.scenario`) and the carbon data
(:mod:`greenaolo.greenllm.carbon`) both read (``docs/greenllm.md#dc-table``).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["DC_TABLE", "ZONE_CODES"]

#: docs/greenllm.md#dc-table: the nine Google Cloud US regions, their 2023 CFE share (Google region-carbon-info),
#: Electricity Maps zone, the notebook's base retail price (cents/kWh), carbon-tax factor and
#: the population (millions) of the co-located user area.
DC_TABLE = pd.DataFrame(
    [
        ("us-central1", "Iowa", "Des Moines", 0.95, "Midcontinent ISO", 11.5, 0.5, 3.2, 0.8, 1),
        ("us-east1", "South Carolina", "Charlotte", 0.29, "Southeastern Power Administration", 13.8, 0.2, 5.1, 0.8, 0),
        ("us-east4", "N. Virginia", "Washington", 0.52, "New York ISO", 15.2, 0.6, 8.6, 1.3, 0),
        ("us-east5", "Columbus", "Columbus", 0.52,
         "Louisville Gas and Electric Company and Kentucky Utilities", 14.5, 0.6, 11.8, 0.8, 0),
        ("us-south1", "Dallas", "Dallas", 0.79, "Electric Reliability Council of Texas", 12.8, 0.2, 29.0, 1.2, 1),
        ("us-west1", "Oregon", "Portland", 0.84, "Portland General Electric Company", 11.0, 0.4, 4.2, 1.2, 3),
        ("us-west2", "Los Angeles", "Los Angeles", 0.55, "Los Angeles Department of Water and Power",
         22.5, 0.9, 39.5, 1.3, 3),
        ("us-west3", "Salt Lake City", "Salt Lake City", 0.29, "Pacificorp East", 12.5, 0.25, 3.3, 0.8, 3),
        ("us-west4", "Las Vegas", "Las Vegas", 0.26, "Nevada Power Company", 13.2, 0.3, 3.1, 1.2, 3),
    ],
    columns=[
        "region", "location", "city", "cfe", "carbon_zone", "base_price_cents", "tax_factor",
        "population_m", "regional_factor", "bandwidth_region",
    ],
)

#: Electricity Maps zone codes of the DCs' carbon zones (docs/greenllm.md#f14), in :data:`DC_TABLE` order.
ZONE_CODES = (
    "US-MIDW-MISO", "US-SE-SEPA", "US-NY-NYIS", "US-MIDW-LGEE", "US-TEX-ERCO",
    "US-NW-PGE", "US-CAL-LDWP", "US-NW-PACE", "US-NW-NEVP",
)
