"""Product quality (产品质量管理): issues, batch quarantines, the quality archive, suppliers."""
