"""Green-LLM (Cheng & Nguyen, arXiv 2507.09942): scenarios, the allocation model and its results."""
