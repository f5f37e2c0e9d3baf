DROP TABLE IF EXISTS campaign_pushes;
