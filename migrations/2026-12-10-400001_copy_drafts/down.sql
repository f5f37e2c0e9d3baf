DROP TABLE copy_drafts;
