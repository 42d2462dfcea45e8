"""Scheduling: pure decisions, timetables, and the loop that reads, locks and writes."""
