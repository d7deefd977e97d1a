DROP TABLE interview_leases;
