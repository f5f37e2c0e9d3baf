DROP TABLE IF EXISTS campaign_copy;
