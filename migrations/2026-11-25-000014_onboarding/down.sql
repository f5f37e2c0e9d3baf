DROP TABLE IF EXISTS onboarding_dismissals;
