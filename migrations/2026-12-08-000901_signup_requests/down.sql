DROP TABLE signup_requests;
