"""The volunteer's own side: records across organisations, receipts, disputes, omissions,
certificate requests, their data; and the organisation's queues that answer them."""
